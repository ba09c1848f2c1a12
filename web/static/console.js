// Console conveniences; every page works without them (plain forms).
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Editable lists (similar questions): one input per item, add and remove buttons.
  function wireList(list) {
    var name = list.getAttribute("data-name");
    var addButton = list.querySelector("button.add");
    function addRow(value) {
      var rows = list.querySelectorAll(".list-row");
      var template = rows[rows.length - 1];
      var row = template.cloneNode(true);
      var input = row.querySelector("input[name='" + name + "']");
      input.value = value || "";
      input.setAttribute("aria-label", input.getAttribute("aria-label").replace(/\d+$/, String(rows.length + 1)));
      list.insertBefore(row, addButton);
      input.focus();
    }
    list.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) return;
      if (button.classList.contains("add")) {
        addRow("");
      } else if (button.classList.contains("remove")) {
        var row = button.closest(".list-row");
        if (list.querySelectorAll(".list-row").length > 1) {
          row.remove();
        } else {
          row.querySelector("input").value = "";
        }
      }
    });
    // Enter in an item adds the next one instead of submitting the whole form.
    list.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && event.target.matches("input[name='" + name + "']") && !event.isComposing) {
        event.preventDefault();
        addRow("");
      }
    });
  }
  document.querySelectorAll(".list-edit").forEach(wireList);

  // Forms that change or remove something ask first.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });

  // A form with changes not saved yet (an entry, a 话术 line): leaving the page by another
  // form (the entry's hit test, 归档) or a link would drop them without a word, so the
  // browser asks first. A form shown again after a refused save (data-unsaved) holds
  // unsaved changes from the start.
  document.querySelectorAll("#entry-form, form[data-warn-unsaved]").forEach(function (form) {
    function content() { return new URLSearchParams(new FormData(form)).toString(); }
    var loaded = form.hasAttribute("data-unsaved") ? null : content();
    var saving = false;
    form.addEventListener("submit", function () { saving = true; });
    window.addEventListener("beforeunload", function (event) {
      if (saving || content() === loaded) return;
      event.preventDefault();
      event.returnValue = "";  // browsers show their own text, asking whether to leave
    });
  });

  // A refused save marks the fields at fault (aria-invalid), maybe far down a long form
  // or the queue, below the window: the first is brought into view and focused, to fix.
  var invalid = document.querySelector("main [aria-invalid=true]");
  if (invalid) {
    invalid.scrollIntoView({ block: "center" });
    invalid.focus({ preventScroll: true });
  }

  document.querySelectorAll("[data-select-on-focus]").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });
})();
