/* Loaded by CKEditor (customConfig) for every editor instance: uploads are sent by
   XHR with Django's CSRF token, which our upload view enforces. */
CKEDITOR.editorConfig = function (config) {
  var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  var field = document.querySelector("input[name=csrfmiddlewaretoken]");
  var token = field ? field.value : (match ? decodeURIComponent(match[1]) : "");
  config.fileTools_requestHeaders = { "X-CSRFToken": token };
};
