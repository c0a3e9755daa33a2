// Drag-and-drop upload: each file is sent on its own request, with its own
// progress bar and result. The server decides everything; this only shows it.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) { return; }
  var zone = document.getElementById("dropzone");
  var input = document.getElementById("file-input");
  var list = document.getElementById("upload-list");
  var category = document.getElementById("category");
  var factsBox = document.getElementById("facts");
  var zh = document.documentElement.lang.indexOf("zh") === 0;
  var T = zh ? {
    sending: "上传中…", done: "已提交，等待档案管理员审核", failed: "失败",
    again: "仍然上传", network: "网络错误"
  } : {
    sending: "Uploading…", done: "Submitted; waiting for the archivist", failed: "Failed",
    again: "Upload anyway", network: "Network error"
  };

  function renderFacts() {
    var option = category.options[category.selectedIndex];
    var facts = JSON.parse(option.getAttribute("data-facts") || "[]");
    factsBox.textContent = "";
    facts.forEach(function (f) {
      var wrap = document.createElement("div");
      wrap.className = "field";
      var label = document.createElement("label");
      label.textContent = (zh && f.label_zh ? f.label_zh : f.name) + (f.required ? " *" : "");
      label.htmlFor = "fact-" + f.name;
      var field = document.createElement("input");
      field.id = "fact-" + f.name;
      field.name = "facts." + f.name;
      field.type = f.type === "date" ? "date" : "text";
      if (f.required) { field.required = true; }
      wrap.appendChild(label);
      wrap.appendChild(field);
      factsBox.appendChild(wrap);
    });
  }

  function send(file, item, allowDuplicate) {
    var data = new FormData(form);
    data.append("file", file, file.name);
    if (allowDuplicate) { data.append("allow_duplicate", "1"); }
    var bar = item.querySelector("progress");
    var state = item.querySelector(".state");
    state.textContent = T.sending;
    item.className = "sending";
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.getAttribute("data-url"));
    xhr.setRequestHeader("X-CSRFToken", form.getAttribute("data-csrf"));
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); }
    });
    xhr.addEventListener("load", function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (err) { body = {}; }
      if (xhr.status === 201 && body.ok) {
        bar.value = 100;
        item.className = "ok";
        state.textContent = T.done + " ";
        var link = document.createElement("a");
        link.href = body.url;
        link.textContent = "#" + body.id;
        state.appendChild(link);
      } else {
        item.className = "failed";
        state.textContent = T.failed + ": " + (body.error || xhr.status);
        if (xhr.status === 409 && body.duplicate_of) {
          var again = document.createElement("button");
          again.type = "button";
          again.textContent = T.again;
          again.addEventListener("click", function () { again.remove(); send(file, item, true); });
          state.appendChild(document.createTextNode(" "));
          state.appendChild(again);
        }
      }
    });
    xhr.addEventListener("error", function () {
      item.className = "failed";
      state.textContent = T.network;
    });
    xhr.send(data);
  }

  function take(files) {
    Array.prototype.forEach.call(files, function (file) {
      var item = document.createElement("li");
      var name = document.createElement("span");
      name.className = "name";
      name.textContent = file.name;
      var bar = document.createElement("progress");
      bar.max = 100;
      bar.value = 0;
      var state = document.createElement("span");
      state.className = "state";
      item.appendChild(name);
      item.appendChild(bar);
      item.appendChild(state);
      list.appendChild(item);
      send(file, item, false);
    });
  }

  category.addEventListener("change", renderFacts);
  renderFacts();
  input.addEventListener("change", function () { take(input.files); input.value = ""; });
  ["dragenter", "dragover"].forEach(function (ev) {
    zone.addEventListener(ev, function (e) { e.preventDefault(); zone.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (ev) {
    zone.addEventListener(ev, function (e) { e.preventDefault(); zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (e) { take(e.dataTransfer.files); });
}());
