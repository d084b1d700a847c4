// A conversation that follows its end, as chat apps do: while the reader is at the bottom of the
// log, content that grows above (live previews of a running request, images finishing loading)
// keeps the newest message in view; once the reader scrolls up, the log stays where they put it.

const SLACK_PX = 48;

/**
 * Scrolls `log` to its end, then brings `node` whole into view: a message nearly as tall as the log
 * would otherwise lose its top to the log's padding, and the page itself may have scrolled.
 */
export function showEnd(log, node) {
  log.scrollTop = log.scrollHeight;
  node?.scrollIntoView({ block: 'nearest' });
}

/** Keeps `log` scrolled to its end whenever it grows while the reader was at the end. */
export function followEnd(log) {
  let atEnd = true;
  const nearEnd = () => log.scrollHeight - log.scrollTop - log.clientHeight <= SLACK_PX;
  const follow = () => {
    if (atEnd) showEnd(log, log.lastElementChild);
  };
  log.addEventListener('scroll', () => {
    atEnd = nearEnd();
  });
  new MutationObserver(follow).observe(log, { childList: true, subtree: true, characterData: true });
  // An image's load changes the height without a DOM mutation; load does not bubble, so capture it.
  log.addEventListener('load', follow, true);
}
