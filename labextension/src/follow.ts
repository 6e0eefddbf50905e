/**
 * The chat panel's transcript follows a streaming answer: it stays scrolled to its end while
 * text arrives, unless the user scrolled up; scrolling back to the end follows again.
 */

/** How close to the end (px) still counts as "at the end". */
const NEAR = 32;
const followed = new WeakSet<Element>();

function follow(box: HTMLElement): void {
  if (followed.has(box)) {
    return;
  }
  followed.add(box);
  let pinned = true;
  box.addEventListener(
    'scroll',
    () => {
      pinned = box.scrollHeight - box.scrollTop - box.clientHeight < NEAR;
    },
    { passive: true }
  );
  const stick = () => {
    if (pinned) {
      box.scrollTop = box.scrollHeight;
    }
  };
  new MutationObserver(stick).observe(box, {
    childList: true,
    subtree: true,
    characterData: true
  });
  new ResizeObserver(stick).observe(box);
}

/** Follow every transcript under `root`, now and as panels are shown (once per frame). */
export function followTranscripts(root: HTMLElement = document.body): void {
  const scan = () =>
    root
      .querySelectorAll<HTMLElement>('.jp-ChatPanel-transcript')
      .forEach(follow);
  let queued = false;
  new MutationObserver(() => {
    if (!queued) {
      queued = true;
      requestAnimationFrame(() => {
        queued = false;
        scan();
      });
    }
  }).observe(root, { childList: true, subtree: true });
  scan();
}
