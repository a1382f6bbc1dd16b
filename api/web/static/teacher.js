// The teacher's pages: resumable uploads (tus), the check-in with the phone's position, the
// day draft's running total and the "deleted from my gallery" checklist.
// Files are sent exactly as picked (never recompressed here): their metadata is the evidence.
(function () {
  "use strict";
  var main = document.getElementById("main");
  var csrf = main ? main.getAttribute("data-csrf") : "";
  var textNode = document.getElementById("teacher-text");
  var TEXT = textNode ? JSON.parse(textNode.textContent) : {};
  var ENDPOINT = "/api/v1/uploads/";
  var CHUNK_BYTES = 4 * 1024 * 1024;
  // tus-js-client's own retries; after them a paused upload is started again every PAUSE_MS
  // and at once when the browser says it is online again
  var RETRY_DELAYS = [0, 1000, 3000, 5000, 10000];
  var PAUSE_MS = 5000;
  var BATCH_KEY = "bukti-batch";
  // where share-worker.js keeps the files shared from the phone's gallery
  var SHARED_CACHE = "bukti-shared-files";

  function say(key, values) {
    var text = TEXT[key] || key;
    Object.keys(values || {}).forEach(function (name) {
      text = text.split("%(" + name + ")s").join(String(values[name]));
    });
    return text;
  }

  var numbers = new Intl.NumberFormat(document.documentElement.lang || "id", { maximumFractionDigits: 1 });
  function size(bytes) {
    var units = [["GB", 1e9], ["MB", 1e6], ["KB", 1e3]];
    for (var i = 0; i < units.length; i++) {
      if (bytes >= units[i][1]) { return numbers.format(bytes / units[i][1]) + " " + units[i][0]; }
    }
    return bytes + " B";
  }

  function problemOf(error) {
    var response = error && error.originalResponse;
    if (!response) { return { status: 0, detail: String(error && error.message || error) }; }
    var detail = "";
    try { detail = JSON.parse(response.getBody()).detail; } catch (ignored) { detail = response.getBody(); }
    return { status: response.getStatus(), detail: detail || String(response.getStatus()) };
  }

  // A 4xx answer is final (the file or its target is refused), except the ones tus retries.
  function isFinal(status) {
    return status >= 400 && status < 500 && [409, 423, 429].indexOf(status) < 0;
  }

  // Send one file through tus; resumes an earlier upload of the same file when there is one.
  // on.progress(sent, total), on.paused(), on.done(evidenceId), on.refused(detail)
  function sendFile(file, metadata, on) {
    var evidenceId = null;
    var timer = null; // set while paused after tus-js-client's own retries ran out
    var fields = { filename: file.name, filetype: file.type || "application/octet-stream" };
    Object.keys(metadata).forEach(function (name) {
      if (metadata[name] !== null && metadata[name] !== undefined && metadata[name] !== "") {
        fields[name] = String(metadata[name]);
      }
    });
    var upload = new window.tus.Upload(file, {
      endpoint: ENDPOINT,
      chunkSize: CHUNK_BYTES,
      retryDelays: RETRY_DELAYS,
      headers: { "X-CSRF-Token": csrf },
      metadata: fields,
      removeFingerprintOnSuccess: true,
      onShouldRetry: function (error) {
        if (isFinal(problemOf(error).status)) { return false; }
        on.paused();
        return true;
      },
      onProgress: function (sent, total) { on.progress(sent, total); },
      onAfterResponse: function (request, response) {
        var id = response.getHeader("Bukti-Evidence-Id");
        if (id) { evidenceId = id; }
      },
      onSuccess: function () {
        window.removeEventListener("online", restart);
        on.done(evidenceId);
      },
      onError: function (error) {
        var problem = problemOf(error);
        if (isFinal(problem.status)) {
          window.removeEventListener("online", restart);
          on.refused(problem.detail);
          return;
        }
        on.paused();
        timer = window.setTimeout(restart, PAUSE_MS);
      }
    });
    function restart() {
      // only a paused upload is started again: during tus-js-client's retries one is pending
      if (timer === null) { return; }
      window.clearTimeout(timer);
      timer = null;
      upload.start();
    }
    window.addEventListener("online", restart);
    upload.findPreviousUploads().then(function (previous) {
      if (previous.length) { upload.resumeFromPreviousUpload(previous[0]); }
      upload.start();
    });
    return upload;
  }

  function setStatus(form, text) {
    var line = form.querySelector(".progress-text");
    if (line) { line.textContent = text; }
  }

  function showProgress(form, sent, total) {
    var bar = form.querySelector("progress");
    var percent = total ? Math.floor(sent * 100 / total) : 0;
    if (bar) { bar.hidden = false; bar.value = percent; }
    setStatus(form, say("sending", { percent: percent + "%" }));
  }

  // one file from a form, then reload the page to show what Bukti answers
  function sendFromForm(form, file, metadata, after) {
    var button = form.querySelector("button");
    if (button) { button.disabled = true; }
    sendFile(file, metadata, {
      progress: function (sent, total) { showProgress(form, sent, total); },
      paused: function () { setStatus(form, say("paused")); },
      done: function (evidenceId) {
        setStatus(form, say("checked"));
        (after || function () { window.location.reload(); })(evidenceId);
      },
      refused: function (detail) {
        setStatus(form, say("refused", { reason: detail }));
        if (button) { button.disabled = false; }
      }
    });
  }

  function postJson(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) { throw new Error(data.detail || response.status); }
        return data;
      });
    });
  }

  // --- today: check in or out with a selfie and the phone's position -------------------------

  function locate() {
    return new Promise(function (resolve) {
      if (!navigator.geolocation) { resolve(null); return; }
      navigator.geolocation.getCurrentPosition(
        function (found) { resolve(found.coords); },
        function () { resolve(null); },
        { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 }
      );
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form.check-form"), function (form) {
    var input = form.querySelector("input[type=file]");
    var position = null;
    // ask for the position as soon as the selfie is taken: the fix is ready by the time it is sent
    input.addEventListener("change", function () {
      setStatus(form, say("locating"));
      position = locate().then(function (coords) {
        setStatus(form, coords ? say("located", { metres: Math.round(coords.accuracy) }) : say("no_position"));
        return coords;
      });
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var file = input.files[0];
      if (!file) { input.focus(); return; }
      var check = form.getAttribute("data-check");
      var status = form.querySelector("select[name=status]");
      (position || locate()).then(function (coords) {
        setStatus(form, say("checking_in"));
        return postJson("/api/v1/attendance/check", {
          check: check,
          status: status ? status.value : "WFO"
        }).then(function (record) {
          sendFromForm(form, file, {
            attendance_id: record.id,
            check: check,
            lat: coords ? coords.latitude.toFixed(6) : null,
            lon: coords ? coords.longitude.toFixed(6) : null,
            accuracy_m: coords ? Math.round(coords.accuracy) : null
          });
        });
      }).catch(function (error) { setStatus(form, say("error", { reason: error.message })); });
    });
  });

  // --- a day's batch: many files, two at a time, each resumable --------------------------------

  var batchForm = document.getElementById("batch");
  if (batchForm) { startBatchPage(batchForm); }

  function fileKey(file) { return [file.name, file.size, file.lastModified].join("|"); }

  function startBatchPage(form) {
    var dayInput = form.querySelector("input[name=date]");
    var picker = form.querySelector("input[type=file]");
    var panel = document.getElementById("batch-progress");
    var list = document.getElementById("batch-list");
    var summary = document.getElementById("batch-summary");
    var bar = document.getElementById("batch-bar");
    var resumeNote = document.getElementById("batch-resume");
    var next = document.getElementById("batch-next");
    var draftLink = document.getElementById("batch-draft");
    var entries = [];
    var running = 0;
    var PARALLEL = 2;

    var saved = null;
    try { saved = JSON.parse(window.localStorage.getItem(BATCH_KEY) || "null"); } catch (ignored) { saved = null; }
    if (saved && saved.files && saved.files.some(function (f) { return f.state !== "done" && f.state !== "refused"; })) {
      // a batch cut short by a reload: the browser cannot keep the files, so they are picked again
      dayInput.value = saved.day;
      panel.hidden = false;
      saved.files.forEach(function (f) { addEntry(null, f); });
      remindMissing();
      update();
    }

    dayInput.addEventListener("change", function () {
      draftLink.href = "/my/days/" + dayInput.value;
    });

    picker.addEventListener("change", function () {
      if (!dayInput.value) { dayInput.focus(); return; }
      panel.hidden = false;
      Array.prototype.forEach.call(picker.files, function (file) {
        var known = entries.filter(function (e) { return e.key === fileKey(file); })[0];
        if (known && known.file) { return; }
        if (known) { known.file = file; known.day = known.day || dayInput.value; } else { addEntry(file, null); }
      });
      picker.value = "";
      remindMissing();
      save();
      pump();
    });

    // the files of a batch cut short that must be picked again
    function remindMissing() {
      var missing = entries.filter(function (e) { return !e.file && e.state !== "done" && e.state !== "refused"; });
      resumeNote.hidden = !missing.length;
      resumeNote.textContent = say("resume") + " " + missing.map(function (e) { return e.name; }).join(", ");
    }

    function addEntry(file, remembered) {
      var entry = {
        file: file,
        key: file ? fileKey(file) : remembered.key,
        name: file ? file.name : remembered.name,
        size: file ? file.size : remembered.size,
        day: remembered ? remembered.day || (saved && saved.day) : dayInput.value,
        target: remembered ? remembered.target || null : null,
        sharedKey: null,
        state: remembered ? remembered.state : "waiting",
        evidenceId: remembered ? remembered.evidenceId : null,
        sent: remembered && remembered.state === "done" ? remembered.size : 0
      };
      if (entry.state === "sending" || entry.state === "paused") { entry.state = "waiting"; }
      var item = document.createElement("li");
      var label = document.createElement("span");
      label.className = "name";
      label.textContent = entry.name + " (" + size(entry.size) + ")";
      var progress = document.createElement("progress");
      progress.max = 100;
      progress.value = entry.state === "done" ? 100 : 0;
      progress.setAttribute("aria-label", entry.name);
      var state = document.createElement("span");
      state.className = "state";
      item.appendChild(label);
      item.appendChild(progress);
      item.appendChild(state);
      list.appendChild(item);
      entry.node = item;
      entry.bar = progress;
      entry.text = state;
      entries.push(entry);
      show(entry);
      return entry;
    }

    function show(entry) {
      var words = {
        waiting: say("waiting"),
        sending: say("sending", { percent: Math.floor(entry.sent * 100 / (entry.size || 1)) + "%" }),
        paused: say("paused"),
        done: say("done"),
        refused: say("refused", { reason: entry.reason || "" })
      };
      entry.text.textContent = words[entry.state] || "";
      entry.node.className = "upload-" + entry.state;
      entry.bar.value = entry.size ? Math.floor(entry.sent * 100 / entry.size) : 0;
    }

    function pump() {
      entries.forEach(function (entry) {
        if (running >= PARALLEL || entry.state !== "waiting" || !entry.file) { return; }
        running++;
        entry.state = "sending";
        show(entry);
        sendFile(entry.file, entry.target || { date: entry.day }, {
          progress: function (sent) { entry.sent = sent; entry.state = "sending"; show(entry); update(); },
          paused: function () { entry.state = "paused"; show(entry); update(); },
          done: function (evidenceId) {
            entry.state = "done"; entry.sent = entry.size; entry.evidenceId = evidenceId;
            finish(entry);
          },
          refused: function (detail) { entry.state = "refused"; entry.reason = detail; finish(entry); }
        });
      });
      update();
    }

    function finish(entry) {
      running--;
      if (entry.sharedKey) { forgetShared([entry.sharedKey]); }
      show(entry);
      save();
      pump();
    }

    function update() {
      var total = 0, sent = 0, done = 0;
      entries.forEach(function (e) {
        total += e.size; sent += Math.min(e.sent, e.size);
        if (e.state === "done") { done++; }
      });
      var finished = entries.length && entries.every(function (e) { return e.state === "done" || e.state === "refused"; });
      bar.value = total ? Math.floor(sent * 100 / total) : 0;
      summary.textContent = finished ? say("batch_done") : say("batch", {
        done: done, total: entries.length, sent: size(sent), size: size(total)
      });
      next.hidden = !done;
      if (finished) { window.localStorage.removeItem(BATCH_KEY); }
    }

    function save() {
      var unfinished = entries.some(function (e) { return e.state !== "done" && e.state !== "refused"; });
      if (!unfinished) { window.localStorage.removeItem(BATCH_KEY); return; }
      window.localStorage.setItem(BATCH_KEY, JSON.stringify({
        day: dayInput.value,
        files: entries.map(function (e) {
          return {
            key: e.key, name: e.name, size: e.size, day: e.day, target: e.target,
            state: e.state, evidenceId: e.evidenceId
          };
        })
      }));
    }

    // Files shared from the gallery: a batch cut short gets its shared files back by itself
    // (the browser keeps them, unlike picked ones); the others wait for the teacher to say
    // what they are for, or to discard them.
    var sharedPanel = document.getElementById("shared");
    if (sharedPanel && window.caches) { loadShared().then(offerShared); }

    function offerShared(shared) {
      var waiting = shared.filter(function (one) {
        var known = entries.filter(function (e) { return e.key === fileKey(one.file); })[0];
        if (!known) { return true; }
        if (known.state === "done" || known.state === "refused") {
          forgetShared([one.key]);
        } else if (!known.file) {
          known.file = one.file;
          known.sharedKey = one.key;
        }
        return false;
      });
      remindMissing();
      pump();
      if (!waiting.length) { return; }
      var shownList = document.getElementById("shared-list");
      waiting.forEach(function (one) { shownList.appendChild(sharedItem(one.file)); });
      sharedPanel.hidden = false;
      var target = document.getElementById("shared-target");
      document.getElementById("shared-send").addEventListener("click", function () {
        var day = target.getAttribute("data-day");
        var chosen = target.value ? { activity_id: target.value } : { date: day };
        waiting.forEach(function (one) {
          var entry = addEntry(one.file, null);
          entry.day = day;
          entry.target = chosen;
          entry.sharedKey = one.key;
        });
        sharedPanel.hidden = true;
        panel.hidden = false;
        save();
        pump();
      });
      document.getElementById("shared-discard").addEventListener("click", function () {
        forgetShared(waiting.map(function (one) { return one.key; }));
        sharedPanel.hidden = true;
      });
    }
  }

  function sharedItem(file) {
    var item = document.createElement("li");
    var thumb;
    if (/^image\//.test(file.type)) {
      thumb = document.createElement("img");
      thumb.src = URL.createObjectURL(file);
      thumb.alt = "";
    } else {
      thumb = document.createElement("span");
    }
    thumb.className = "thumb";
    var name = document.createElement("span");
    name.className = "name";
    name.textContent = file.name + " (" + size(file.size) + ")";
    item.appendChild(thumb);
    item.appendChild(name);
    return item;
  }

  // The files share-worker.js kept, as [{key, file}].
  function loadShared() {
    return window.caches.open(SHARED_CACHE).then(function (cache) {
      return cache.keys().then(function (requests) {
        return Promise.all(requests.map(function (request) {
          return cache.match(request).then(function (response) {
            return response.blob().then(function (blob) {
              var name = decodeURIComponent(response.headers.get("X-Bukti-Name") || "shared");
              var modified = Number(response.headers.get("X-Bukti-Modified")) || Date.now();
              return { key: request.url, file: new File([blob], name, { type: blob.type, lastModified: modified }) };
            });
          });
        }));
      });
    }).catch(function () { return []; });
  }

  function forgetShared(keys) {
    return window.caches.open(SHARED_CACHE).then(function (cache) {
      return Promise.all(keys.map(function (key) { return cache.delete(key); }));
    }).catch(function () { return null; });
  }

  // --- monthly videos and answers to "ask again" ----------------------------------------------

  Array.prototype.forEach.call(document.querySelectorAll("form.video-file"), function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var file = form.querySelector("input[type=file]").files[0];
      if (!file) { return; }
      sendFromForm(form, file, {
        month: form.getAttribute("data-month"),
        requirement: form.getAttribute("data-requirement")
      });
    });
  });

  Array.prototype.forEach.call(document.querySelectorAll("form.video-link"), function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var url = form.querySelector("input[type=url]").value.trim();
      postJson("/api/v1/evidence", {
        url: url,
        month: form.getAttribute("data-month"),
        requirement: form.getAttribute("data-requirement")
      }).then(function () {
        setStatus(form, say("link_sent"));
        window.location.reload();
      }).catch(function (error) { setStatus(form, say("refused", { reason: error.message })); });
    });
  });

  Array.prototype.forEach.call(document.querySelectorAll("form.answer-form"), function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var file = form.querySelector("input[type=file]").files[0];
      if (!file) { return; }
      sendFromForm(form, file, { answers_evidence_id: form.getAttribute("data-answers") });
    });
  });

  // --- the day draft: minutes against the target while the times are edited -------------------

  var draft = document.getElementById("draft");
  if (draft) {
    var totalLine = document.getElementById("draft-total").querySelector("strong");
    var minutesOf = function (value) {
      var parts = (value || "").split(":");
      return parts.length === 2 ? Number(parts[0]) * 60 + Number(parts[1]) : NaN;
    };
    draft.addEventListener("input", function () {
      var total = Number(draft.getAttribute("data-logged")) || 0;
      Array.prototype.forEach.call(draft.querySelectorAll("fieldset.block"), function (block) {
        var times = block.querySelectorAll("input.block-time");
        var span = minutesOf(times[1].value) - minutesOf(times[0].value);
        if (span > 0) { total += span; }
      });
      totalLine.textContent = numbers.format(total);
    });
  }

  // --- "deleted from my gallery": ticks kept on this phone ------------------------------------

  Array.prototype.forEach.call(document.querySelectorAll("input[data-remember]"), function (box) {
    var key = box.getAttribute("data-remember");
    box.checked = window.localStorage.getItem(key) === "1";
    box.addEventListener("change", function () {
      if (box.checked) { window.localStorage.setItem(key, "1"); } else { window.localStorage.removeItem(key); }
    });
  });
})();
