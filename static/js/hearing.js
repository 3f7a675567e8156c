// A live hearing: the thread, the floor and the chair's console over Socket.IO.
// Progressive enhancement: without this file the page refreshes and every form posts normally.
// Reconnects with back-off and resumes from the last message seen (join with last_id), so
// nothing is lost and nothing is shown twice.
(function () {
  "use strict";
  var root = document.getElementById("hearing");
  if (!root || typeof window.io !== "function") return;

  var hearingId = parseInt(root.dataset.hearingId, 10);
  var lastId = parseInt(root.dataset.lastId, 10) || 0;
  var cursor = root.dataset.cursor || null;
  var isChair = root.dataset.chair === "true";
  var canVote = root.dataset.canVote === "true";
  var strings = (document.getElementById("hearing-strings") || {}).dataset || {};
  // Constituency and other labels in the page's language (socket payloads carry English ones).
  var labels = {};
  try { labels = JSON.parse(strings.labels || "{}"); } catch (e) { labels = {}; }
  function label(key, fallback) { return (key && labels[key]) || fallback || key || ""; }
  var retracted = {};
  var serverOffset = 0; // server clock minus ours, in ms
  var state = null;
  var myUserId = null;

  function $(id) { return document.getElementById(id); }
  function t(key) { return strings[key] || key; }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // --- connection state, announced in an aria-live region ---------------------------------
  var connection = $("connection");
  function setConnection(kind, text) {
    if (!connection) return;
    connection.dataset.state = kind;
    connection.textContent = text;
  }
  setConnection("connecting", t("connecting"));

  var socket = window.io("/hearing", {
    auth: { csrf: root.dataset.csrf },
    reconnection: true,
    reconnectionDelay: 1000,
    reconnectionDelayMax: 5000,  // Socket.IO's default: back within 7.5 s of a restart
    randomizationFactor: 0.5,
    timeout: 10000
  });

  function send(event, payload, done) {
    payload = payload || {};
    payload.hearing_id = hearingId;
    socket.timeout(10000).emit(event, payload, function (err, answer) {
      if (err) answer = { ok: false, error: t("reconnecting") };
      if (done) done(answer || { ok: false, error: "?" });
    });
  }

  socket.on("connect", function () {
    socket.emit("join", { hearing_id: hearingId, last_id: lastId, since: cursor }, function (answer) {
      if (!answer || !answer.ok) {
        setConnection("offline", (answer && answer.error) || t("offline"));
        return;
      }
      setConnection("live", t("connected"));
      if (answer.user) myUserId = answer.user.id;
      (answer.retracted || []).forEach(removeMessage);
      (answer.late || []).forEach(addMessage);
      (answer.messages || []).forEach(addMessage);
      if (answer.cursor) cursor = answer.cursor;
      applyState(answer.state);
    });
  });
  socket.on("disconnect", function () { setConnection("reconnecting", t("reconnecting")); });
  socket.on("connect_error", function (err) {
    if (err && err.message && !socket.active) setConnection("offline", t("refused") + " (" + err.message + ")");
    else setConnection("reconnecting", t("reconnecting"));
  });
  socket.io.on("reconnect_failed", function () { setConnection("offline", t("offline")); });
  socket.on("error", function (answer) {
    if (answer && answer.error) setConnection(socket.connected ? "live" : "reconnecting", answer.error);
  });

  // --- the thread ---------------------------------------------------------------------------
  var thread = $("thread");

  function tally(votes) {
    var p = el("p", "tally");
    ["agree", "disagree", "pass"].forEach(function (key, i) {
      var span = el("span", key, t(key) + " ");
      span.appendChild(el("span", "n", String(votes ? votes[i] : 0)));
      p.appendChild(span);
      if (i < 2) p.appendChild(document.createTextNode(" · "));
    });
    return p;
  }

  function voteForm(id) {
    var form = el("form", "hearing-vote");
    form.method = "post";
    form.action = root.dataset.voteUrl.replace(/\/0\/vote$/, "/" + id + "/vote");
    form.setAttribute("aria-label", t("agree") + " / " + t("disagree") + " / " + t("pass") + " #" + id);
    var csrf = el("input"); csrf.type = "hidden"; csrf.name = "csrf_token"; csrf.value = root.dataset.csrf;
    form.appendChild(csrf);
    ["agree", "disagree", "pass"].forEach(function (key) {
      var b = el("button", "vote", t(key));
      b.type = "submit"; b.name = "vote"; b.value = key; b.setAttribute("aria-pressed", "false");
      form.appendChild(b);
    });
    return form;
  }

  function addMessage(m) {
    if (!m || retracted[m.id] || document.getElementById("m" + m.id)) return;
    var li = el("li", "message" + (m.kind === "chair_summary" ? " chair-summary" : ""));
    li.id = "m" + m.id;
    li.dataset.id = m.id;
    var meta = el("p", "meta");
    if (m.kind === "chair_summary") meta.appendChild(el("strong", "kind", t("chairSummary")));
    meta.appendChild(el("strong", "author", m.author || t("participant")));
    if (m.constituency_label) meta.appendChild(el("span", "constituency", label(m.constituency, m.constituency_label)));
    var time = el("time", null, new Date(m.created_at).toLocaleTimeString());
    time.setAttribute("datetime", m.created_at);
    meta.appendChild(time);
    li.appendChild(meta);
    var text = el("div", "message-text", m.text);
    text.dir = "auto";  // as the server renders it (hearings/_message.html)
    if (m.language) text.lang = m.language;
    li.appendChild(text);
    li.appendChild(tally(m.votes));
    if (canVote) li.appendChild(voteForm(m.id));
    if (isChair) addPinButton(li);
    // keep id order, even for a late approval
    var after = null;
    for (var node = thread.lastElementChild; node; node = node.previousElementSibling) {
      if (parseInt(node.dataset.id, 10) < m.id) { after = node; break; }
    }
    if (after) after.insertAdjacentElement("afterend", li);
    else thread.insertBefore(li, thread.firstChild);
    if (m.id > lastId) lastId = m.id;
    var empty = $("thread-empty"); if (empty) empty.hidden = true;
  }

  function removeMessage(id) {
    retracted[id] = true;
    var li = document.getElementById("m" + id);
    if (li) li.parentNode.removeChild(li);
  }

  function updateVotes(votes) {
    Object.keys(votes || {}).forEach(function (id) {
      var li = document.getElementById("m" + id);
      if (!li) return;
      var ns = li.querySelectorAll(".tally .n");
      for (var i = 0; i < ns.length && i < 3; i++) ns[i].textContent = votes[id][i];
    });
  }

  socket.on("messages", function (frame) {
    if (!frame || frame.hearing_id !== hearingId) return;
    var atBottom = thread.scrollTop + thread.clientHeight >= thread.scrollHeight - 40;
    (frame.messages || []).forEach(addMessage);
    updateVotes(frame.votes);
    if (typeof frame.presence === "number") $("presence-count").textContent = frame.presence;
    if (frame.cursor) cursor = frame.cursor;
    if (atBottom) thread.scrollTop = thread.scrollHeight;
  });
  socket.on("message_published", addMessage);
  socket.on("message_retracted", function (p) { if (p) removeMessage(p.id); });

  // Votes and posts go over the socket; on any failure the normal form post still works.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!socket.connected) return;
    if (form.classList.contains("hearing-vote")) {
      var button = event.submitter;
      if (!button || !button.value) return;
      event.preventDefault();
      var li = form.closest("li.message");
      send("vote", { id: parseInt(li.dataset.id, 10), vote: button.value }, function (answer) {
        if (!answer.ok) { setConnection(connection.dataset.state, answer.error); return; }
        form.querySelectorAll("button.vote").forEach(function (b) {
          b.setAttribute("aria-pressed", b.value === button.value ? "true" : "false");
        });
        var v = {}; v[answer.id] = answer.votes; updateVotes(v);
      });
    } else if (form.id === "message-form") {
      event.preventDefault();
      var area = form.querySelector("textarea");
      var error = $("message-error"), status = $("message-status");
      var clientId = form.dataset.clientId || (Date.now().toString(36) + Math.random().toString(36).slice(2));
      form.dataset.clientId = clientId; // a retry after a lost ack reuses it: stored once
      error.hidden = true;
      send("post_message", { text: area.value, client_id: clientId }, function (answer) {
        if (answer.ok) {
          delete form.dataset.clientId;
          area.value = "";
          status.textContent = answer.state === "published" ? t("published") : t("held");
        } else {
          if (answer.code !== "idempotency_conflict") { /* keep the id: the same text can be retried */ }
          error.textContent = answer.error; error.hidden = false;
          if (answer.code === "invalid" || answer.code === "slow_mode" || answer.code === "too_large") delete form.dataset.clientId;
        }
      });
    } else if (form.id === "floor-form") {
      event.preventDefault();
      var ferror = $("floor-error");
      ferror.hidden = true;
      send("request_floor", { constituency: form.elements.constituency.value || null, topic: form.elements.topic.value }, function (answer) {
        if (!answer.ok) { ferror.textContent = answer.error; ferror.hidden = false; return; }
        form.hidden = true; $("my-request").hidden = false;
      });
    } else if (form.id === "withdraw-form") {
      event.preventDefault();
      send("withdraw_floor", {}, function (answer) {
        if (answer.ok) { $("my-request").hidden = true; $("floor-form").hidden = false; }
      });
    }
  });

  // --- state: speaker, countdown, queue, pinned, slow mode --------------------------------
  socket.on("state", applyState);

  function applyState(s) {
    if (!s || s.id !== hearingId) return;
    var previous = state;
    state = s;
    if (s.server_time) serverOffset = Date.parse(s.server_time) - Date.now();
    var badge = $("hearing-state");
    if (badge) { badge.textContent = t(s.state); badge.className = "badge badge-hearing-" + s.state; }
    if (previous && previous.state !== s.state) { window.location.reload(); return; }
    $("presence-count").textContent = s.presence;
    var speaker = $("speaker");
    speaker.textContent = "";
    var p = el("p");
    if (s.speaker) {
      p.appendChild(el("strong", null, s.speaker.name || t("participant")));
      p.appendChild(document.createTextNode(" · " + label(s.speaker.constituency, s.speaker.constituency_label || "") + (s.speaker.topic ? " · " + s.speaker.topic : "")));
    } else {
      p.textContent = t("nobody");
    }
    speaker.appendChild(p);
    var countdown = $("countdown");
    countdown.dataset.endsAt = s.speaker && s.speaker.ends_at ? s.speaker.ends_at : "";
    $("countdown-line").hidden = !countdown.dataset.endsAt;
    tick();
    var queue = $("queue");
    queue.textContent = "";
    s.queue.forEach(function (r) {
      var li = el("li");
      li.dataset.id = r.id;
      li.appendChild(el("span", "name", r.name || t("participant")));
      li.appendChild(document.createTextNode(" · "));
      li.appendChild(el("span", "constituency", label(r.constituency, r.constituency_label)));
      if (r.topic) { li.appendChild(document.createTextNode(" · ")); li.appendChild(el("span", "topic", r.topic)); }
      queue.appendChild(li);
    });
    $("queue-empty").hidden = s.queue.length > 0;
    var mine = myUserId && (s.queue.some(function (r) { return r.user_id === myUserId; }) || (s.speaker && s.speaker.user_id === myUserId));
    if (myUserId && $("floor-form")) {
      $("floor-form").hidden = !!mine;
      $("my-request").hidden = !s.queue.some(function (r) { return r.user_id === myUserId; });
    }
    var pinned = $("pinned");
    pinned.hidden = !s.pinned;
    $("pinned-text").textContent = s.pinned ? s.pinned.text : "";
    var note = $("slow-mode-note");
    if (note) { note.hidden = !s.slow_mode; $("slow-mode-seconds").textContent = s.slow_mode; }
    if (isChair) renderChair(s);
  }

  function tick() {
    var countdown = $("countdown");
    if (!countdown || !countdown.dataset.endsAt) return;
    var left = Math.round((Date.parse(countdown.dataset.endsAt) - (Date.now() + serverOffset)) / 1000);
    if (left <= 0) {
      countdown.textContent = t("timeUp");
      countdown.classList.add("over");
    } else {
      countdown.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
      countdown.classList.remove("over");
    }
  }
  setInterval(tick, 1000);

  // --- the chair's console -----------------------------------------------------------------
  function chairStatus(answer) {
    var node = $("chair-status");
    if (node) node.textContent = answer.ok ? t("done") : answer.error;
  }

  function addPinButton(li) {
    var b = el("button", "link-button pin", t("pin"));
    b.type = "button";
    b.addEventListener("click", function () {
      var id = parseInt(li.dataset.id, 10);
      var pinnedId = state && state.pinned ? state.pinned.id : null;
      send("pin_message", { id: pinnedId === id ? null : id }, chairStatus);
    });
    li.appendChild(b);
  }

  function renderChair(s) {
    var list = $("chair-queue");
    if (!list) return;
    var next = s.queue.filter(function (r) { return r.id === s.next_id; })[0];
    $("next-by-rotation").textContent = next ? (next.name + " · " + label(next.constituency, next.constituency_label)) : "–";
    list.textContent = "";
    s.queue.forEach(function (r, index) {
      var li = el("li");
      li.appendChild(el("span", null, (r.name || t("participant")) + " · " + label(r.constituency, r.constituency_label) + (r.topic ? " · " + r.topic : "")));
      function button(label, handler) {
        var b = el("button", "button secondary", label);
        b.type = "button";
        b.setAttribute("aria-label", label + ": " + (r.name || ""));
        b.addEventListener("click", handler);
        li.appendChild(b);
      }
      button(t("grant"), function () { send("grant_floor", { request_id: r.id }, chairStatus); });
      button(t("skip"), function () { send("skip_speaker", { request_id: r.id }, chairStatus); });
      function move(delta) {
        var order = s.queue.map(function (q) { return q.id; });
        var j = index + delta;
        if (j < 0 || j >= order.length) return;
        order[index] = order[j]; order[j] = r.id;
        send("reorder_queue", { order: order }, chairStatus);
      }
      if (index > 0) button(t("up"), function () { move(-1); });
      if (index < s.queue.length - 1) button(t("down"), function () { move(1); });
      list.appendChild(li);
    });
    var rotation = $("rotation"); if (rotation) rotation.checked = s.rotation;
  }

  if (isChair) {
    document.querySelectorAll("[data-chair-action]").forEach(function (b) {
      b.addEventListener("click", function (event) {
        if (!socket.connected) return; // the form posts instead
        event.preventDefault();
        send(b.dataset.chairAction, {}, chairStatus);
      });
    });
    var on = function (id, handler) { var n = $(id); if (n) n.addEventListener(n.type === "checkbox" ? "change" : "click", handler); };
    on("rotation", function () { send("set_rotation", { on: $("rotation").checked }, chairStatus); });
    on("time-limit-save", function () { send("set_time_limit", { seconds: parseInt($("time-limit").value, 10) || 0 }, chairStatus); });
    on("slow-mode-save", function () { send("set_slow_mode", { seconds: parseInt($("slow-mode").value, 10) || 0 }, chairStatus); });
    on("chair-summary-post", function () {
      send("chair_summary", { text: $("chair-summary-text").value }, function (answer) {
        chairStatus(answer);
        if (answer.ok) $("chair-summary-text").value = "";
      });
    });
    on("summary-refresh", function () { send("refresh_summary", {}, chairStatus); });
    thread.querySelectorAll("li.message").forEach(addPinButton);
  }

  function fillList(id, counts, labels, emptyText) {
    var ul = $(id);
    if (!ul) return;
    ul.textContent = "";
    var keys = Object.keys(counts || {});
    if (!keys.length && emptyText) ul.appendChild(el("li", null, emptyText));
    keys.sort(function (a, b) { return counts[b] - counts[a]; }).forEach(function (k) {
      ul.appendChild(el("li", null, label(k, labels[k] || k) + ": " + counts[k]));
    });
  }

  socket.on("summary", function (s) {
    if (!s || s.hearing_id !== hearingId) return;
    var b = s.balance;
    fillList("balance-speakers", b.speakers.constituency, b.labels, t("noSpeakers"));
    fillList("balance-posters", b.posters.constituency, b.labels, "–");
    fillList("balance-regions", b.posters.region, b.labels, null);
    var box = $("themes");
    box.textContent = "";
    if (s.themes.status === "ok") {
      // named, and quoted, in the chair's language first where the theme has messages in it
      var mine = document.documentElement.lang || "en";
      s.themes.themes.forEach(function (theme) {
        var div = el("div", "theme");
        var name = el("strong", null, (theme.labels && theme.labels[mine]) || theme.label);
        name.setAttribute("dir", "auto");
        div.appendChild(name);
        div.appendChild(document.createTextNode(" — " + theme.size + " " + t("messagesWord") + " (" + Math.round(theme.share * 100) + "%)"));
        if (theme["new"]) div.appendChild(el("span", "badge", t("themeNew").replace("__N__", theme["new"])));
        var lean = theme.lean;
        if (lean) {
          div.appendChild(el("p", "hint", lean.votes ? t("themeLean").replace("__A__", lean.agree).replace("__D__", lean.disagree).replace("__P__", lean.pass) : t("themeNoVotes")));
        }
        var who = theme.constituencies;
        if (who) {
          var present = Object.keys(who.present || {}).map(function (k) { return label(k, k) + " " + who.present[k]; });
          var line = t("themeWho") + " " + (present.join(", ") || "–");
          if (who.absent && who.absent.length) line += " · " + t("themeAbsent") + " " + who.absent.map(function (k) { return label(k, k); }).join(", ");
          div.appendChild(el("p", "hint", line));
        }
        var quotes = (theme.quotes || []).slice();
        quotes.sort(function (a, b) { return (b.language === mine) - (a.language === mine); });
        quotes.slice(0, 3).forEach(function (q) {
          var quote = el("blockquote", null, q.text);
          quote.setAttribute("dir", "auto");
          if (q.language) quote.setAttribute("lang", q.language);
          div.appendChild(quote);
        });
        box.appendChild(div);
      });
    } else {
      box.appendChild(el("p", null, s.themes.status === "too_few" ? t("themesFew") : t("themesWait")));
    }
  });
})();
