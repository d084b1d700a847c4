// The playground page: parses chat commands, calls the service's HTTP API, follows each request
// over Server-Sent Events and renders previews, results, the gallery and sampler comparisons.
// Plain browser JavaScript: no framework, no build step. This module only wires the others together.

import { setupAttachment } from './attachment.js';
import { input, setupCommandBox } from './command-box.js';
import { submitCommand } from './composer.js';
import { log } from './conversation.js';
import { followEnd } from './follow.js';
import { loadGallery, setupGallery } from './gallery.js';
import { loadCatalog, setupPickers } from './pickers.js';
import { openRequest } from './tracking.js';

followEnd(log);
document.querySelector('#composer').addEventListener('submit', (e) => {
  e.preventDefault();
  void submitCommand(input.value);
});
setupCommandBox();
setupAttachment();
setupGallery(openRequest);
setupPickers();

void loadCatalog();
void loadGallery();
