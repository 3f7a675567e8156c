// Progressive enhancement only: every action works without this file.
(function () {
  "use strict";
  var status = document.getElementById("live-status");

  // Vote without reloading the page; fall back to the normal form post on any failure.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("vote-form") || !window.fetch) return;
    var button = event.submitter;
    if (!button || !button.value) return;
    event.preventDefault();
    var body = new FormData(form);
    body.append("vote", button.value);
    fetch(form.action, { method: "POST", body: body, credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (data) {
        form.querySelectorAll("button.vote").forEach(function (b) {
          b.setAttribute("aria-pressed", b.value === data.vote ? "true" : "false");
        });
        var tally = document.getElementById("tally-" + data.id);
        if (tally) {
          ["agree", "disagree", "pass"].forEach(function (key) {
            var n = tally.querySelector("." + key + " .n");
            if (n) n.textContent = data[key];
          });
        }
        // The header's tally ("12 votes") counts this vote too.
        [["consultation-votes", data.votes_total], ["consultation-participants", data.participants_total]].forEach(function (pair) {
          var element = document.getElementById(pair[0]);
          if (element && pair[1]) element.textContent = pair[1];
        });
        if (status) status.textContent = button.textContent.trim() + " ✓";
      })
      .catch(function () {
        var hidden = document.createElement("input");
        hidden.type = "hidden"; hidden.name = "vote"; hidden.value = button.value;
        form.appendChild(hidden);
        form.submit();
      });
  });
})();
