"""What a cell shows of model text: Markdown that cannot run or load anything."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from jupyter_chat.render import bundle, safe_markdown

HOSTILE = (
    '<script>window.__pwned=1</script> <img src=x onerror="window.__pwned=2"> '
    "![t](http://127.0.0.1:9/track.png) [x](javascript:alert(1)) [y]( JavaScript:1) "
    '<iframe src="http://evil"></iframe>'
)


def test_html_images_and_script_links_are_neutralised():
    out = safe_markdown(HOSTILE)
    assert "<" not in out and "![" not in out and "javascript:" not in out.lower()
    assert "&lt;script>" in out and "[x](#blocked:alert(1))" in out


def test_code_keeps_its_text():
    text = "Use `<b>` like this:\n```html\n<b>bold</b> ![i](x.png)\n```\nthen <i>"
    out = safe_markdown(text)
    assert "`<b>`" in out and "<b>bold</b> ![i](x.png)" in out and out.endswith("&lt;i>")


def test_the_whole_bundle_is_safe_reasoning_footer_and_tools_included():
    record = {"provider": "local", "model": '<img src=x onerror="m()">', "params": {}}
    data, _ = bundle(
        answer=HOSTILE,
        reasoning=HOSTILE,
        tool_calls=[{"function": {"name": "a`b<script>", "arguments": "<script>"}}],
        record=record,
        messages=[],
        status="complete",
        error="<script>err</script>",
    )
    md = data["text/markdown"]
    assert "`a'b<script>`" in md  # a tool name is shown as code (text), its backtick defused
    md = md.replace("```json\n<script>\n```", "").replace("`a'b<script>`", "")
    for bad in ("<script", "<img src=x", "<iframe", "![t]", "javascript:"):
        assert bad not in md, bad


@given(st.text(alphabet=st.sampled_from(list("<>![]()`~\n ajvscript:htp/.x")), max_size=80))
def test_no_tag_survives_outside_code(text):
    out = safe_markdown(text)
    if "`" not in text and "~" not in text:
        assert "<" not in out and "![" not in out
