// The voting card advances in place; without this file the same form posts and the next card loads.
(function () {
  "use strict";
  if (!window.fetch || !window.FormData) return;

  function focusCard() {
    var text = document.querySelector("#card .card-text") || document.querySelector("#card .card-done");
    if (text) { text.setAttribute("tabindex", "-1"); text.focus(); }
  }

  function moveYou(map) {
    var block = document.querySelector("[data-map-id]");
    if (!block || !map) return;
    var id = block.getAttribute("data-map-id");
    var you = document.getElementById(id + "-you");
    if (you && map.you) {
      you.setAttribute("transform", "translate(" + map.you.x + " " + map.you.y + ")");
      you.removeAttribute("visibility");
    }
    var summary = document.getElementById(id + "-summary");
    if (summary) summary.textContent = map.summary;
    var desc = document.getElementById(id + "-desc");
    if (desc) desc.textContent = map.summary;
    block.querySelectorAll("tr[data-group]").forEach(function (row) {
      var mine = map.you && map.you.group !== null && row.getAttribute("data-group") === map.you.group;
      row.classList.toggle("map-you-row", mine);
      var cell = row.querySelector(".map-you-cell");
      if (cell) cell.textContent = mine ? map.closest : "";
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("card-form")) return;
    var button = event.submitter;
    if (!button || !button.value) return;
    event.preventDefault();
    var body = new FormData(form);
    body.append("vote", button.value);
    if (document.querySelector("[data-map-id]")) body.append("has_map", "1");
    form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    fetch(form.action, { method: "POST", body: body, credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (data) {
        var card = document.getElementById("card");
        card.outerHTML = data.card;
        var status = document.getElementById("card-status");
        var progress = document.getElementById("card-progress");
        if (status) status.textContent = data.message + " " + (progress ? progress.textContent : "");
        var total = document.getElementById("card-votes-total");
        if (total && data.votes_total) total.textContent = data.votes_total;
        if (data.map_html) {
          var holder = document.getElementById("card-map-block");
          if (holder) holder.innerHTML = data.map_html;
        } else {
          moveYou(data.map);
        }
        focusCard();
      })
      .catch(function () {
        // Any failure (rate limit, expired form, offline): post the plain form, which explains itself.
        var hidden = document.createElement("input");
        hidden.type = "hidden"; hidden.name = "vote"; hidden.value = button.value;
        form.appendChild(hidden);
        form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
        form.submit();
      });
  });
})();
