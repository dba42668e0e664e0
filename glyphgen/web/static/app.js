// The try-it page: draw the background on a canvas, let the user drag a box in image
// pixels, POST it with the text to /api/render, show the result and the OCR verdict.
"use strict";
const $ = (id) => document.getElementById(id);
const canvas = $("canvas"), ctx = canvas.getContext("2d");
let background = null;   // what the server gets: "preset:NAME" or a data: URL
let image = new Image();
let box = null, dragFrom = null;

function setStatus(text, error = false) {
  $("status").textContent = text;
  $("status").className = error ? "error" : "";
}

function draw() {
  canvas.width = image.naturalWidth; canvas.height = image.naturalHeight;
  ctx.drawImage(image, 0, 0);
  if (box) {
    ctx.strokeStyle = "#00e5ff"; ctx.lineWidth = Math.max(2, canvas.width / 320);
    ctx.setLineDash([8, 6]);
    ctx.strokeRect(box[0], box[1], box[2] - box[0], box[3] - box[1]);
  }
  $("render").disabled = !box;
}

function load(src, spec) {
  image = new Image();
  image.onload = () => { background = spec; box = null; draw(); setStatus("Drag a box, then Render."); };
  image.onerror = () => setStatus("That file is not an image the browser can show.", true);
  image.src = src;
}

function toImage(ev) {  // mouse position in image pixels
  const r = canvas.getBoundingClientRect();
  const x = (ev.clientX - r.left) * canvas.width / r.width;
  const y = (ev.clientY - r.top) * canvas.height / r.height;
  return [Math.min(Math.max(x, 0), canvas.width), Math.min(Math.max(y, 0), canvas.height)];
}

canvas.addEventListener("mousedown", (ev) => { dragFrom = toImage(ev); });
canvas.addEventListener("mousemove", (ev) => {
  if (!dragFrom) return;
  const p = toImage(ev);
  box = [Math.min(dragFrom[0], p[0]), Math.min(dragFrom[1], p[1]),
         Math.max(dragFrom[0], p[0]), Math.max(dragFrom[1], p[1])].map(Math.round);
  draw();
});
window.addEventListener("mouseup", () => { dragFrom = null; });

$("preset").addEventListener("change", (ev) => {
  const name = ev.target.value;
  load("/presets/" + encodeURIComponent(name) + ".png", "preset:" + name);
});
$("upload").addEventListener("change", (ev) => {
  const file = ev.target.files[0];
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => load(reader.result, reader.result);
  reader.readAsDataURL(file);
});

// The style the new text was drawn in (the old text's, as estimated): face, weight, fill,
// outline and shadow; "—" where none was estimated.
function describeStyle(s) {
  if (!s) return "—";
  const hex = (c) => "#" + c.map((v) => v.toString(16).padStart(2, "0")).join("");
  const parts = [s.face + (s.source === "estimated" ? " (matched)" : "")];
  if (s.weight_em !== null) parts.push("weight " + s.weight_em.toFixed(3) + " em");
  parts.push("fill " + hex(s.fill));
  if (s.outline) parts.push("outline " + hex(s.outline.colour) + " " + s.outline.width_px + " px");
  if (s.shadow) parts.push("shadow " + s.shadow.dx_px + "," + s.shadow.dy_px + " px");
  return parts.join(", ");
}

$("own-colour").addEventListener("change", (ev) => { $("colour").disabled = !ev.target.checked; });

$("render").addEventListener("click", async () => {
  $("render").disabled = true;
  setStatus("Rendering ...");
  const body = {
    background, box, text: $("text").value,
    vertical: $("vertical").checked, seed: parseInt($("seed").value || "0", 10),
    color: $("own-colour").checked ? $("colour").value : "",
    verify: $("verify").checked,
  };
  try {
    const res = await fetch("/api/render", {
      method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
    });
    const out = await res.json();
    if (!res.ok) { setStatus(out.error || res.statusText, true); return; }
    $("result").src = out.image;
    const v = out.verdict;
    $("badge").textContent = {exact: "OCR reads it exactly", close: "OCR reads it with small errors",
                              wrong: "OCR reads something else"}[v.verdict];
    $("badge").className = "badge " + v.verdict;
    $("v-target").textContent = v.target;
    $("v-read").textContent = v.read || "(nothing)";
    $("v-diff").textContent = v.diff || "—";
    $("v-scores").textContent = v.ratio.toFixed(3) + " / " + v.ned.toFixed(3);
    $("v-judge").textContent = v.judge + " (confidence " + v.confidence.toFixed(2) + ")";
    $("v-tries").textContent = v.tries == null ? "not verified (one draw)"
      : v.tries + (v.tries === 1 ? " draw" : " draws") + (v.fallback ? ", then the classical edit" : "");
    $("v-style").textContent = describeStyle((out.annotation || {}).style);
    $("v-time").textContent = out.seconds.toFixed(2) + " s";
    $("verdict").hidden = false;
    setStatus("Done.");
  } catch (err) {
    setStatus("The server did not answer: " + err, true);
  } finally {
    $("render").disabled = !box;
  }
});

fetch("/api/info").then((r) => r.json()).then((info) => {
  for (const name of info.presets) {
    const opt = document.createElement("option");
    opt.value = name; opt.textContent = name; $("preset").appendChild(opt);
  }
  $("weights").textContent = "weights: " + info.weights;
  load("/presets/" + encodeURIComponent(info.presets[0]) + ".png", "preset:" + info.presets[0]);
});
