/**
 * Protocol v1, frontend side, the usual way round: `%load_ext jupyter_chat` registers the comm
 * target `jupyter_chat` in the kernel; this extension opens a comm to it, saying
 * `{"type": "hello", "version": 1}`, and from then on the kernel streams a turn's text as
 * `delta` / `tool_calls` comm messages, which land in the stream registry where the turn's
 * renderer picks them up. In reply to hello the kernel sends `{"type": "signers", "signers":
 * {chain id: address}}`, the signer table its config trusts (signature.ts checks with it).
 *
 * When to open: on connecting to a kernel of a notebook that mentions jupyter_chat (a page
 * reload, a second window), and after a cell that mentions it has run. A kernel without the
 * target closes the comm at once; executors without this extension never see a comm.
 */
import { ISessionContext } from '@jupyterlab/apputils';
import { Kernel, KernelMessage } from '@jupyterlab/services';

import { streamRegistry } from './registry';
import { forgetSigners, learnSigners } from './signature';
import { COMM_TARGET, PROTOCOL_VERSION } from './types';

interface IState {
  comm: Kernel.IComm | null;
  pending: Set<string>; // execute requests whose code mentions jupyter_chat
}

const MENTION = /jupyter_chat/;
const connections = new WeakMap<Kernel.IKernelConnection, IState>();

/**
 * Follow a session: its kernel now, and every kernel it changes to. `mentions` says whether
 * the document's code mentions jupyter_chat (then a running kernel may have it loaded).
 */
export function watchSession(
  sessionContext: ISessionContext,
  mentions: () => Promise<boolean>
): void {
  const follow = (kernel: Kernel.IKernelConnection | null | undefined) => {
    if (!kernel || kernel.isDisposed) {
      return;
    }
    watchKernel(kernel);
    void Promise.all([mentions(), kernel.info])
      .then(([yes]) => yes && openComm(kernel))
      .catch(() => undefined);
  };
  follow(sessionContext.session?.kernel);
  sessionContext.kernelChanged.connect((_, change) => follow(change.newValue));
}

function watchKernel(kernel: Kernel.IKernelConnection): void {
  if (connections.has(kernel)) {
    return;
  }
  const state: IState = { comm: null, pending: new Set() };
  connections.set(kernel, state);
  kernel.iopubMessage.connect((_, msg) => {
    const parent = (msg.parent_header as KernelMessage.IHeader | undefined)
      ?.msg_id;
    if (msg.header.msg_type === 'execute_input') {
      const code =
        (msg.content as KernelMessage.IExecuteInputMsg['content']).code || '';
      if (parent && MENTION.test(code)) {
        state.pending.add(parent);
      }
    } else if (
      msg.header.msg_type === 'status' &&
      parent &&
      state.pending.has(parent)
    ) {
      const status = (msg.content as KernelMessage.IStatusMsg['content'])
        .execution_state;
      if (status === 'idle') {
        state.pending.delete(parent);
        openComm(kernel);
      }
    }
  });
  kernel.statusChanged.connect((_, status) => {
    if (status === 'restarting' || status === 'autorestarting') {
      state.comm = null; // the kernel's comms are gone with it (a reconnect keeps them)
      forgetSigners(kernel.id);
    }
  });
  kernel.disposed.connect(() => forgetSigners(kernel.id));
}

/** Open our comm to the kernel unless one is open (the kernel closes it if it lacks us). */
function openComm(kernel: Kernel.IKernelConnection): void {
  const state = connections.get(kernel);
  if (
    !state ||
    state.comm !== null ||
    kernel.isDisposed ||
    !kernel.handleComms
  ) {
    return;
  }
  let comm: Kernel.IComm;
  try {
    comm = kernel.createComm(COMM_TARGET);
  } catch (err) {
    console.debug('jupyter-chat: cannot open the comm', err);
    return;
  }
  state.comm = comm;
  const registry = streamRegistry();
  comm.onMsg = (msg: KernelMessage.ICommMsgMsg) => {
    const data = msg.content.data as Record<string, unknown>;
    if (data.type === 'signers') {
      // the kernel's signer table (its config's [signers] included), sent on hello
      learnSigners(kernel.id, data.signers);
      return;
    }
    registry.apply(msg.header.msg_id, data);
  };
  comm.onClose = () => {
    if (state.comm === comm) {
      state.comm = null;
      forgetSigners(kernel.id);
    }
  };
  comm.open({ type: 'hello', version: PROTOCOL_VERSION });
}
