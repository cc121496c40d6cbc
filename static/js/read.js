/* Counts one reading of the article page that loads this script (even a page
   served from a cache): one anonymous POST to the address in data-url, once
   the page has been visible. No cookie, no identifier; nothing is stored about
   the reader. */
(function () {
  "use strict";
  const script = document.currentScript;
  const url = script && script.dataset.url;
  if (!url || !navigator.sendBeacon) {
    return;
  }
  let sent = false;
  function send() {
    if (!sent && document.visibilityState === "visible") {
      sent = true;
      navigator.sendBeacon(url);
    }
  }
  document.addEventListener("visibilitychange", send);
  send();
})();
