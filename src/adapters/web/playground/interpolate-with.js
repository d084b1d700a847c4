// "Interpolate with…" on a result, as the chat apps' button: the service lists the user's own finished
// generations it would morph this one into (GET /api/requests?partnersOf=), so the rules (same model and
// label, finished generations only) live in the service once; picking one queues the interpolation.

/**
 * Wires the `.interpolate-with` controls in `box` for the result `view`.
 * partners(id): the requests to offer, newest first; caption(view): how one is named in the menu;
 * start(title, toId): queues the interpolation into `toId`; showError(text): a refusal in the result's message.
 */
export function setupInterpolateWith(box, view, { partners, caption, start, showError }) {
  const offer = box.querySelector('.interpolate-offer');
  const menu = box.querySelector('.interpolate-menu');
  const select = box.querySelector('.interpolate-partner');
  const go = box.querySelector('.interpolate-go');
  let offered = [];
  offer.onclick = async () => {
    offer.disabled = true;
    try {
      offered = await partners(view.id);
      if (offered.length === 0) {
        const label = view.label === null ? '' : ` with label ${view.label}`;
        showError(`You have no other finished /generate result of ${view.model}${label} to interpolate with. Generate one, then click again.`);
        return;
      }
      showError('');
      select.replaceChildren(...offered.map((p) => new Option(caption(p), p.id)));
      menu.hidden = false;
      select.focus();
    } catch (error) {
      showError(error.message || String(error));
    } finally {
      offer.disabled = false;
    }
  };
  go.onclick = () => {
    const to = offered.find((p) => p.id === select.value);
    if (to) start(`interpolation from seed ${view.seed} to seed ${to.seed}`, to.id);
  };
}
