/* The focal point picker of the article form: a click on the hero image, or the
   arrow keys on the marker, set the focal point fields (fractions of the width
   and height); previews show the crops as renditions.py will make them. */
(function () {
  "use strict";

  function clamp(value) {
    return Math.min(1, Math.max(0, value));
  }

  // Python's round(): halves go to the even neighbour (Math.round takes them up).
  function round(value) {
    const rounded = Math.round(value);
    return Math.abs(value % 1) === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
  }

  // The same box as renditions.crop_box: the largest of this ratio, centred on
  // the focal point as far as the edges allow.
  function cropBox(width, height, ratio, fx, fy) {
    let boxWidth = width;
    let boxHeight = height;
    if (width / height > ratio) {
      boxWidth = Math.max(1, Math.min(width, round(height * ratio)));
    } else {
      boxHeight = Math.max(1, Math.min(height, round(width / ratio)));
    }
    const left = Math.min(Math.max(round(fx * width - boxWidth / 2), 0), width - boxWidth);
    const top = Math.min(Math.max(round(fy * height - boxHeight / 2), 0), height - boxHeight);
    return { left: left, top: top, width: boxWidth, height: boxHeight };
  }
  // For the tests, which compare it with renditions.crop_box.
  window.newsroomCropBox = cropBox;

  function setup(picker) {
    const inputX = document.getElementById(picker.dataset.xInput);
    const inputY = document.getElementById(picker.dataset.yInput);
    const file = document.getElementById(picker.dataset.fileInput);
    const stage = picker.querySelector(".focal-picker__stage");
    const image = stage.querySelector("img");
    const marker = stage.querySelector(".focal-picker__marker");
    const empty = picker.querySelector(".focal-picker__empty");
    const previews = picker.querySelector(".focal-picker__previews");
    if (!inputX || !inputY) {
      return; // a read-only form: nothing to set
    }

    function read(input) {
      const value = parseFloat(String(input.value).replace(",", "."));
      return Number.isNaN(value) ? 0.5 : clamp(value);
    }

    function showPreviews(fx, fy) {
      const width = image.naturalWidth;
      const height = image.naturalHeight;
      if (!width || !height) {
        return;
      }
      picker.querySelectorAll(".focal-picker__crop").forEach(function (frame) {
        const box = cropBox(width, height, parseFloat(frame.dataset.ratio), fx, fy);
        const scale = frame.clientWidth / box.width;
        const copy = frame.querySelector("img");
        copy.style.width = width * scale + "px";
        copy.style.transform =
          "translate(" + -box.left * scale + "px, " + -box.top * scale + "px)";
      });
    }

    function show() {
      const fx = read(inputX);
      const fy = read(inputY);
      marker.style.left = fx * 100 + "%";
      marker.style.top = fy * 100 + "%";
      marker.setAttribute(
        "aria-label",
        picker.dataset.label
          .replace("{x}", Math.round(fx * 100))
          .replace("{y}", Math.round(fy * 100))
      );
      showPreviews(fx, fy);
    }

    function set(fx, fy) {
      inputX.value = Math.round(clamp(fx) * 1000) / 1000;
      inputY.value = Math.round(clamp(fy) * 1000) / 1000;
      show();
    }

    stage.addEventListener("click", function (event) {
      const box = image.getBoundingClientRect();
      set((event.clientX - box.left) / box.width, (event.clientY - box.top) / box.height);
      marker.focus();
    });
    marker.addEventListener("keydown", function (event) {
      const step = event.shiftKey ? 0.1 : 0.01;
      const moves = {
        ArrowLeft: [-step, 0],
        ArrowRight: [step, 0],
        ArrowUp: [0, -step],
        ArrowDown: [0, step],
      };
      const move = moves[event.key];
      if (!move) {
        return;
      }
      event.preventDefault();
      set(read(inputX) + move[0], read(inputY) + move[1]);
    });
    inputX.addEventListener("input", show);
    inputY.addEventListener("input", show);
    image.addEventListener("load", show);
    window.addEventListener("resize", show);
    if (file) {
      // A new image: shown at once, its focal point back to the centre.
      file.addEventListener("change", function () {
        if (!file.files || !file.files[0]) {
          return;
        }
        const url = URL.createObjectURL(file.files[0]);
        picker.querySelectorAll("img").forEach(function (each) {
          each.src = url;
        });
        stage.hidden = false;
        previews.hidden = false;
        empty.hidden = true;
        set(0.5, 0.5);
      });
    }
    show();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".focal-picker").forEach(setup);
  });
})();
