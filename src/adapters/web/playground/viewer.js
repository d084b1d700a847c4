// Looking at results properly: the models draw 8–32 px images, so the page enlarges them with
// nearest neighbour (each model pixel a sharp square) in a dialog, and downloads enlarged PNGs drawn
// on a canvas from the stored original. The original stays one link away.

/** Whole-number factor that brings the longer side to at least `side` px (at least 1). */
function factorFor(width, height, side) {
  return Math.max(1, Math.ceil(side / Math.max(width, height, 1)));
}

function loaded(src) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error(`could not load ${src}`));
    img.src = src;
  });
}

/** The image at `src` enlarged `factor` times without smoothing, as a PNG blob. */
async function enlargedPng(src, factor) {
  const img = await loaded(src);
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth * factor;
  canvas.height = img.naturalHeight * factor;
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('could not encode the PNG'))), 'image/png'));
}

/** Downloads `src` enlarged so its longer side is at least 512 px; returns the size written. */
export async function downloadEnlarged(src, name) {
  const img = await loaded(src);
  const factor = factorFor(img.naturalWidth, img.naturalHeight, 512);
  const url = URL.createObjectURL(await enlargedPng(src, factor));
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return { width: img.naturalWidth * factor, height: img.naturalHeight * factor };
}

/** Opens the dialog with `img` enlarged to fit the window; Escape or Close returns focus to `opener`. */
export function openViewer(img, name, opener) {
  const dialog = document.getElementById('viewer');
  const big = dialog.querySelector('img');
  const { naturalWidth: w, naturalHeight: h } = img;
  // The largest whole factor that fits 90% of the window, so pixels stay equal squares.
  const fit = Math.max(1, Math.floor(Math.min((window.innerWidth * 0.9) / w, (window.innerHeight * 0.75) / h)));
  big.src = img.currentSrc || img.src;
  big.alt = img.alt;
  big.style.width = `${w * fit}px`;
  big.style.height = `${h * fit}px`;
  dialog.querySelector('figcaption').textContent = `${img.alt} (${w}×${h} px, shown ×${fit})`;
  const original = dialog.querySelector('a.original');
  original.href = big.src;
  original.download = name;
  const download = dialog.querySelector('button.download');
  const factor = factorFor(w, h, 512);
  download.textContent = `Download PNG ${w * factor}×${h * factor}`;
  download.onclick = () => void downloadEnlarged(big.src, name.replace(/\.(png|gif)$/, `-x${factor}.png`));
  dialog.onclose = () => opener?.focus();
  dialog.showModal();
}
