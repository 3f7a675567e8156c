// The moderators' queue learns at once that items arrived or were decided; it never reloads by itself.
(function () {
  "use strict";
  var box = document.querySelector("[data-live-queue]");
  if (!box || typeof io === "undefined") return;
  var changes = 0;
  var socket = io(box.getAttribute("data-namespace"), {
    auth: { csrf: box.getAttribute("data-csrf") },
    transports: ["websocket", "polling"],
    reconnectionDelayMax: 30000
  });
  socket.on("queue_changed", function () {
    changes += 1;
    box.textContent = box.getAttribute("data-message").replace("__N__", String(changes)) + " ";
    var link = document.createElement("a");
    link.href = window.location.pathname + window.location.search;
    link.textContent = box.getAttribute("data-reload");
    box.appendChild(link);
  });
})();
