/**
 * The mime extension: renders `application/vnd.jupyter-chat+json` turns, in live sessions
 * and in saved notebooks opened without a kernel alike. Other frontends show the
 * `text/markdown` part of the same bundle.
 */
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';

import { ChatTurnWidget } from './turn';
import { MIME_TYPE } from './types';

export { MIME_TYPE };

export const rendererFactory: IRenderMime.IRendererFactory = {
  // everything from a reply is sanitized, trusted output or not
  safe: true,
  mimeTypes: [MIME_TYPE],
  createRenderer: options => new ChatTurnWidget(options)
};

const extension: IRenderMime.IExtension = {
  id: 'jupyter-chat:mime',
  description: 'Renders %%chat turns (application/vnd.jupyter-chat+json)',
  rendererFactory,
  rank: 0,
  dataType: 'json'
};

export default extension;
