"""The harmony and ``<think>`` cases of providers.md 4.5: content text, and the answer,
reasoning, preamble and tool calls it must split into (shared by the Python and the
TypeScript splitter's tests)."""

EIGENCLOUD_DOCS = (
    "<|channel|>analysis<|message|>User asks 2+2. Provide answer.<|end|>"
    "<|start|>assistant<|channel|>final<|message|>2 + 2 = 4.<|return|>"
)
NO_HEADER_AFTER_END = '<|channel|>analysis<|message|>Need JSON.<|end|>{ "ok": true }'
TOOL_CONSTRAIN = (
    "<|channel|>analysis<|message|>Need to use function get_weather.<|end|>"
    "<|start|>assistant<|channel|>commentary to=functions.get_weather "
    '<|constrain|>json<|message|>{"location":"San Francisco"}<|call|>'
)
RECIPIENT_IN_ROLE = (
    '<|start|>assistant to=functions.lookup<|channel|>commentary json<|message|>{"q": 1}<|call|>'
)
PREAMBLE_THEN_TOOL = (
    "<|channel|>commentary<|message|>I will look this up.<|end|>"
    "<|start|>assistant<|channel|>commentary to=functions.search "
    '<|constrain|>json<|message|>{"q":"x"}<|call|>'
)
LITERAL = "plain <|not a marker| text with <b>html</b> and a < b"
THINK = "<think>Let me think: a<b.</think>The answer is 4."
BUILTIN_TOOL = (
    '<|channel|>analysis to=browser.search<|message|>{"query":"x"}<|call|>'
    "<|start|>assistant<|channel|>final<|message|>Done."
)

CASES = {
    "docs example": (EIGENCLOUD_DOCS, "2 + 2 = 4.", "User asks 2+2. Provide answer.", "", []),
    "answer after <|end|> with no header": (
        NO_HEADER_AFTER_END,
        '{ "ok": true }',
        "Need JSON.",
        "",
        [],
    ),
    "tool call with constrain": (
        TOOL_CONSTRAIN,
        "",
        "Need to use function get_weather.",
        "",
        [("get_weather", '{"location":"San Francisco"}')],
    ),
    "recipient in the role part": (RECIPIENT_IN_ROLE, "", "", "", [("lookup", '{"q": 1}')]),
    "preamble then tool call": (
        PREAMBLE_THEN_TOOL,
        "",
        "",
        "I will look this up.",
        [("search", '{"q":"x"}')],
    ),
    "literal <| text": (LITERAL, LITERAL, "", "", []),
    "think tags": (THINK, "The answer is 4.", "Let me think: a<b.", "", []),
    "built-in tool shows as reasoning": (BUILTIN_TOOL, "Done.", '{"query":"x"}', "", []),
}
