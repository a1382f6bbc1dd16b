// The teacher's app's service worker: it takes files shared from the phone's gallery (the
// manifest's share_target posts them to /my/share), keeps them in Cache Storage and sends the
// phone on to the upload page, which offers them to be sent with the page's own CSRF token.
// It caches nothing else and answers no other request: every page and API answer comes
// from the network, never stale.
"use strict";

var SHARE_ACTION = "/my/share";
var SHARED_CACHE = "bukti-shared-files";
var SHARED_PREFIX = "/my/shared-files/";
var UPLOAD_PAGE = "/my/upload";
// shared files nobody sent or discarded are dropped after this long
var KEEP_MS = 7 * 24 * 3600 * 1000;

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim().then(dropOldShares));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "POST" || url.origin !== self.location.origin || url.pathname !== SHARE_ACTION) {
    return; // the network answers, as if there were no worker
  }
  // A worker cannot tell the share sheet from another site's form (neither carries a token,
  // and the page sends no referrer across sites): what is kept is only offered, and nothing
  // is sent until the teacher, on Bukti's own page, says what it is for.
  event.respondWith(keepShared(request));
});

function keepShared(request) {
  return request.formData().then(function (form) {
    var files = form.getAll("files").filter(function (file) { return typeof file !== "string" && file.size > 0; });
    var when = Date.now();
    return caches.open(SHARED_CACHE).then(function (cache) {
      return Promise.all(files.map(function (file, n) {
        var headers = {
          "Content-Type": file.type || "application/octet-stream",
          "X-Bukti-Name": encodeURIComponent(file.name || "shared-" + (n + 1)),
          "X-Bukti-Modified": String(file.lastModified || when),
          "X-Bukti-Shared": String(when)
        };
        return cache.put(SHARED_PREFIX + when + "-" + n, new Response(file, { headers: headers }));
      }));
    }).then(dropOldShares).then(function () {
      return Response.redirect(UPLOAD_PAGE + "?shared=" + files.length, 303);
    });
  }).catch(function () {
    return Response.redirect(UPLOAD_PAGE + "?shared=0", 303);
  });
}

function dropOldShares() {
  return caches.open(SHARED_CACHE).then(function (cache) {
    return cache.keys().then(function (keys) {
      return Promise.all(keys.map(function (key) {
        return cache.match(key).then(function (response) {
          var when = Number(response && response.headers.get("X-Bukti-Shared"));
          if (!when || Date.now() - when > KEEP_MS) { return cache.delete(key); }
          return false;
        });
      }));
    });
  });
}
