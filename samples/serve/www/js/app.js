// The start page's script: marks the page ready, and shows what info.json says.
import { greeting } from './greet.mjs';

const status = document.getElementById('status');
status.textContent = greeting(new Date());
status.className = 'ready';
document.body.dataset.ready = 'yes';

fetch('/data/info.json')
  .then((r) => r.json())
  .then((info) => {
    document.getElementById('info').textContent = info.message;
    document.body.dataset.info = 'yes';
  })
  .catch((e) => {
    document.getElementById('info').textContent = 'could not load: ' + e;
  });
