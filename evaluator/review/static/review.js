// Remember the reviewer's name in this browser and put it in every form that records a decision.
(function () {
  "use strict";
  var KEY = "wellbeing-evaluator.reviewer";
  var input = document.getElementById("reviewer-name");
  if (!input) { return; }
  function fill() {
    var name = input.value.trim();
    try { localStorage.setItem(KEY, name); } catch (e) { /* private mode: keep it for this page */ }
    document.querySelectorAll("input.reviewer-field").forEach(function (f) { f.value = name; });
    input.classList.toggle("missing", name === "");
  }
  try { input.value = localStorage.getItem(KEY) || ""; } catch (e) { input.value = ""; }
  fill();
  input.addEventListener("input", fill);
  document.querySelectorAll("form.needs-reviewer").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      fill();
      if (input.value.trim() === "") {
        event.preventDefault();
        input.focus();
        input.setAttribute("placeholder", "enter your name first");
      }
    });
  });
})();

// Show only the cited passages of one kind (mention, commitment, target, data, method).
(function () {
  "use strict";
  var select = document.getElementById("kind-filter");
  if (!select) { return; }
  select.addEventListener("change", function () {
    var kind = select.value;
    document.querySelectorAll("figure.evidence").forEach(function (fig) {
      fig.hidden = kind !== "" && fig.getAttribute("data-kind") !== kind;
    });
  });
})();
