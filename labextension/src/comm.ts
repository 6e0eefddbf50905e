/**
 * Protocol v1, frontend side. At `%load_ext jupyter_chat` the kernel opens a comm with
 * target `jupyter_chat`; the frontend answers `{"type": "hello", "version": 1}` at once, and
 * from then on the kernel streams a turn's text as `delta` / `tool_calls` comm messages,
 * which land in the stream registry where the turn's renderer picks them up.
 *
 * A page that connects to a kernel which loaded the extension earlier (a reload, a second
 * window) never saw that comm open: it finds the kernel's comm with comm_info and opens its
 * own comm to the kernel, which then streams to it.
 */
import { ISessionContext } from '@jupyterlab/apputils';
import { Kernel, KernelMessage } from '@jupyterlab/services';

import { streamRegistry } from './registry';
import { COMM_TARGET, PROTOCOL_VERSION } from './types';

/** Kernel connections we registered on, and whether each has a live comm. */
const connections = new WeakMap<Kernel.IKernelConnection, { comm: Kernel.IComm | null }>();

/** Register the comm target on `kernel` (once per connection; it survives restarts). */
export function registerCommTarget(kernel: Kernel.IKernelConnection | null | undefined): void {
  if (!kernel || kernel.isDisposed || connections.has(kernel)) {
    return;
  }
  const state = { comm: null as Kernel.IComm | null };
  connections.set(kernel, state);
  kernel.registerCommTarget(COMM_TARGET, (comm, open) => {
    listen(comm, state);
    comm.send({ type: 'hello', version: PROTOCOL_VERSION });
    void open;
  });
  void joinRunningKernel(kernel, state);
}

/** Follow a session: its kernel now, and every kernel it changes to. */
export function watchSession(sessionContext: ISessionContext): void {
  registerCommTarget(sessionContext.session?.kernel);
  sessionContext.kernelChanged.connect((_, change) => registerCommTarget(change.newValue));
}

function listen(comm: Kernel.IComm, state: { comm: Kernel.IComm | null }): void {
  const registry = streamRegistry();
  state.comm = comm;
  comm.onMsg = (msg: KernelMessage.ICommMsgMsg) => {
    registry.apply(msg.header.msg_id, msg.content.data as Record<string, unknown>);
  };
  comm.onClose = () => {
    if (state.comm === comm) {
      state.comm = null;
    }
  };
}

/** The kernel loaded jupyter_chat before this page connected: open a comm to it. */
async function joinRunningKernel(
  kernel: Kernel.IKernelConnection,
  state: { comm: Kernel.IComm | null }
): Promise<void> {
  try {
    const reply = await kernel.requestCommInfo({ target_name: COMM_TARGET });
    const content = reply.content;
    if (
      content.status !== 'ok' ||
      Object.keys(content.comms).length === 0 ||
      state.comm !== null ||
      kernel.isDisposed
    ) {
      return;
    }
    const comm = kernel.createComm(COMM_TARGET);
    listen(comm, state);
    comm.open({ type: 'hello', version: PROTOCOL_VERSION });
  } catch (err) {
    // a kernel that died or restarted meanwhile: its next %load_ext opens a comm anyway
    console.debug('jupyter-chat: comm_info failed', err);
  }
}
