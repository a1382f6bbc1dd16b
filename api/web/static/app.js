// Bukti's pages: the CSRF header for htmx and fetch, confirmations, keyboard shortcuts.
// Everything works without this file; it only makes the pages quicker to use.
(function () {
  "use strict";
  var main = document.getElementById("main");
  var csrf = main ? main.getAttribute("data-csrf") : null;

  // htmx requests made with the session cookie carry the session's CSRF token
  document.addEventListener("htmx:configRequest", function (event) {
    if (csrf) { event.detail.headers["X-CSRF-Token"] = csrf; }
  });

  // forms that ask before they act: <form data-confirm="Approve 12 items?">
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });

  // "send another proof": the file goes to the upload API with the session's CSRF token,
  // then the new item's page opens
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-upload")) { return; }
    event.preventDefault();
    var status = form.querySelector("[data-upload-status]");
    var button = form.querySelector("button");
    if (status) { status.textContent = form.getAttribute("data-sending") || "…"; }
    if (button) { button.disabled = true; }
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: csrf ? { "X-CSRF-Token": csrf } : {},
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (answer) {
      if (answer.ok) { window.location.href = "/items/" + answer.body.id; return; }
      if (status) { status.textContent = answer.body.detail || form.getAttribute("data-failed"); }
      if (button) { button.disabled = false; }
    }).catch(function () {
      if (status) { status.textContent = form.getAttribute("data-failed"); }
      if (button) { button.disabled = false; }
    });
  });

  // keyboard shortcuts: <a|button data-key="a"> is pressed by the key "a"
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var target = event.target;
    var tag = target && target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable)) { return; }
    var key = event.key;
    if (key === "j" || key === "k") { moveInQueue(key === "j" ? 1 : -1); event.preventDefault(); return; }
    var control = document.querySelector('[data-key="' + key + '"]');
    if (!control) { return; }
    event.preventDefault();
    if (control.tagName === "INPUT" || control.tagName === "TEXTAREA" || control.tagName === "SELECT") {
      control.focus();
    } else {
      control.click();
    }
  });

  function moveInQueue(step) {
    var links = Array.prototype.slice.call(document.querySelectorAll(".queue a.open"));
    if (!links.length) { return; }
    var index = links.indexOf(document.activeElement);
    var next = links[Math.min(links.length - 1, Math.max(0, index + step))];
    next.focus();
  }
})();
