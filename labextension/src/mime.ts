/**
 * The mime extension: renders `application/vnd.jupyter-chat+json` turns and finished
 * comparisons (`application/vnd.jupyter-chat.compare+json`), in live sessions and in saved
 * notebooks opened without a kernel alike. Other frontends show the `text/markdown` part of
 * the same bundle.
 */
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';

import { ChatCompareWidget, COMPARE_MIME_TYPE } from './compare';
import { ChatSamplesWidget, SAMPLES_MIME_TYPE } from './samples';
import { ChatTurnWidget } from './turn';
import { MIME_TYPE } from './types';

export { COMPARE_MIME_TYPE, MIME_TYPE, SAMPLES_MIME_TYPE };

export const rendererFactory: IRenderMime.IRendererFactory = {
  // everything from a reply is sanitized, trusted output or not
  safe: true,
  mimeTypes: [MIME_TYPE, COMPARE_MIME_TYPE, SAMPLES_MIME_TYPE],
  createRenderer: options =>
    options.mimeType === COMPARE_MIME_TYPE
      ? new ChatCompareWidget(options)
      : options.mimeType === SAMPLES_MIME_TYPE
        ? new ChatSamplesWidget(options)
        : new ChatTurnWidget(options)
};

const extension: IRenderMime.IExtension = {
  id: 'jupyter-chat:mime',
  description:
    'Renders %%chat turns and comparisons (application/vnd.jupyter-chat+json, ' +
    'application/vnd.jupyter-chat.compare+json)',
  rendererFactory,
  rank: 0,
  dataType: 'json'
};

export default extension;
