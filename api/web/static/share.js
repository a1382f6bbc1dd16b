// The teacher's pages: start the service worker that takes files shared from the phone's
// gallery (see share-worker.js). It only handles the share; pages are never cached.
(function () {
  "use strict";
  if (!("serviceWorker" in navigator)) { return; }
  navigator.serviceWorker.register("/my/share-worker.js", { scope: "/my" }).catch(function () {
    // without it the share sheet's files reach the server, whose page says what to do
  });
})();
