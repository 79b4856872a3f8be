// Fill a form back in with what was typed before the session ended (see app/pages/unsaved.py).
(function () {
  var data = document.getElementById("unsaved-form");
  if (!data) { return; }
  var stash = JSON.parse(data.textContent);
  var forms = Array.prototype.filter.call(document.forms, function (form) {
    return new URL(form.action, document.baseURI).pathname === stash.action;
  });
  forms.forEach(function (form) {
    Object.keys(stash.fields).forEach(function (name) {
      var values = stash.fields[name];
      Array.prototype.forEach.call(form.elements, function (field) {
        if (field.name !== name) { return; }
        if (field.type === "checkbox" || field.type === "radio") {
          field.checked = values.indexOf(field.value) !== -1;
        } else if (field.tagName === "SELECT" && field.multiple) {
          Array.prototype.forEach.call(field.options, function (option) {
            option.selected = values.indexOf(option.value) !== -1;
          });
        } else if (field.type !== "hidden" && field.type !== "file") {
          field.value = values[0];
        }
      });
    });
  });
}());
