/**
 * Copying text for a button: the async clipboard API, else a hidden textarea and the
 * `copy` command (pages without clipboard permission, older browsers).
 */

/** Put `text` on the clipboard; whether it worked. */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return copyWithSelection(text);
  }
}

/** Show on `label` whether copying worked, for a moment. */
export function flashLabel(label: Element | null, ok: boolean): void {
  if (!label) {
    return;
  }
  label.textContent = ok ? 'Copied' : 'Copy failed';
  window.setTimeout(() => {
    label.textContent = 'Copy';
  }, 1500);
}

function copyWithSelection(text: string): boolean {
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}
