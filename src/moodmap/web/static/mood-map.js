/* moodmap's interactive mood map: a library on the valence/arousal plane.
 *
 * One canvas, no dependencies. Wheel zooms around the cursor, drag pans, double-click
 * resets; hovering a song shows its title and artist, clicking selects it (copies its
 * path to the clipboard and fires `moodmap:select` on the container, which the web app
 * listens to). Used inline by `moodmap map -o map.html` and served by `moodmap serve`.
 * With `{regions: true}` (the web app's editor) a drag in the "region" tool, or a shift-drag,
 * draws a rectangle and fires `moodmap:region` with {valence: [lo, hi], arousal: [lo, hi]}.
 *
 *   const map = MoodMap.create(element, {songs, emotions, quadrants, trajectory, path}, {regions: true});
 *   map.setSongs(songs); map.setPath(ids); map.setTrajectory(points); map.setMarker({valence, arousal, label});
 *   map.select(id); map.setTool("pan" | "region" | "path"); map.setRegion(region); map.setHighlight(ids);
 *
 * A song is {id, valence, arousal, title, artist, path, quadrant, emotion}.
 */
(function (global) {
  "use strict";

  var COLOURS = {Q1: "#e8a33d", Q2: "#d9534f", Q3: "#4c78a8", Q4: "#54a24b"};
  var NEUTRAL = "#888888";
  var PAD = 40;

  /* "Artist – Title", falling back to the file name (as moodmap.playlists labels songs). */
  function label(s) {
    var name = s.title || (s.path || "").split(/[\\/]/).pop();
    return (s.artist ? s.artist + " – " : "") + name;
  }

  function create(container, data, options) {
    options = options || {};
    var canvas = document.createElement("canvas");
    var tip = document.createElement("div");
    var status = document.createElement("div");
    canvas.className = "moodmap-canvas";
    tip.className = "moodmap-tip";
    status.className = "moodmap-status";
    tip.hidden = true;
    container.classList.add("moodmap");
    container.appendChild(canvas);
    container.appendChild(tip);
    container.appendChild(status);

    var state = {
      songs: [], emotions: data.emotions || [], quadrants: data.quadrants || {},
      trajectory: data.trajectory || null, path: [], hover: null, selected: null, marker: null,
      view: {x0: 0, x1: 1, y0: 0, y1: 1}, drag: null, tool: "pan", region: null, drawing: null, highlight: {}
    };

    function size() {
      var ratio = global.devicePixelRatio || 1;
      var width = container.clientWidth || 800;
      var height = options.height || Math.min(width, 720);
      canvas.style.width = width + "px";
      canvas.style.height = height + "px";
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
      canvas.getContext("2d").setTransform(ratio, 0, 0, ratio, 0, 0);
      return {width: width, height: height};
    }

    function toScreen(v, a, box) {
      var view = state.view;
      return [PAD + (v - view.x0) / (view.x1 - view.x0) * (box.width - 2 * PAD),
              box.height - PAD - (a - view.y0) / (view.y1 - view.y0) * (box.height - 2 * PAD)];
    }

    function toPlane(x, y, box) {
      var view = state.view;
      return [view.x0 + (x - PAD) / (box.width - 2 * PAD) * (view.x1 - view.x0),
              view.y0 + (box.height - PAD - y) / (box.height - 2 * PAD) * (view.y1 - view.y0)];
    }

    function drawFrame(g, box) {
      var centre = toScreen(0.5, 0.5, box);
      var lo = toScreen(0, 0, box), hi = toScreen(1, 1, box);
      g.strokeStyle = "#bbbbbb";
      g.lineWidth = 1;
      g.strokeRect(lo[0], hi[1], hi[0] - lo[0], lo[1] - hi[1]);
      g.beginPath();
      g.moveTo(centre[0], hi[1]); g.lineTo(centre[0], lo[1]);
      g.moveTo(lo[0], centre[1]); g.lineTo(hi[0], centre[1]);
      g.stroke();
      g.fillStyle = "#555555";
      g.font = "12px sans-serif";
      g.textAlign = "center";
      g.fillText("valence →", box.width / 2, box.height - 10);
      g.save();
      g.translate(14, box.height / 2);
      g.rotate(-Math.PI / 2);
      g.fillText("arousal →", 0, 0);
      g.restore();
      var corners = {Q1: [0.97, 0.97, "right"], Q2: [0.03, 0.97, "left"], Q3: [0.03, 0.03, "left"],
                     Q4: [0.97, 0.03, "right"]};
      Object.keys(corners).forEach(function (q) {
        var c = corners[q], p = toScreen(c[0], c[1], box);
        g.textAlign = c[2];
        g.fillStyle = COLOURS[q];
        g.fillText(q + (state.quadrants[q] ? " · " + state.quadrants[q] : ""), p[0], p[1] + (c[1] > 0.5 ? 12 : -4));
      });
      g.textAlign = "center";
      g.fillStyle = "#333333";
      g.font = "italic 12px sans-serif";
      state.emotions.forEach(function (e) {
        var p = toScreen(e.valence, e.arousal, box);
        g.fillText(e.name, p[0], p[1] - 6);
        g.fillRect(p[0] - 2, p[1] - 2, 4, 4);
      });
    }

    function drawLine(g, box, points, colour, width) {
      if (!points || points.length < 2) return;
      g.strokeStyle = colour;
      g.lineWidth = width;
      g.beginPath();
      points.forEach(function (pt, i) {
        var p = toScreen(pt.valence, pt.arousal, box);
        if (i === 0) g.moveTo(p[0], p[1]); else g.lineTo(p[0], p[1]);
      });
      g.stroke();
    }

    function draw() {
      var box = size(), g = canvas.getContext("2d");
      g.clearRect(0, 0, box.width, box.height);
      drawFrame(g, box);
      var radius = state.songs.length > 20000 ? 1.5 : state.songs.length > 2000 ? 2.5 : 4;
      g.globalAlpha = state.songs.length > 2000 ? 0.6 : 0.85;
      state.songs.forEach(function (s) {
        var p = toScreen(s.valence, s.arousal, box);
        g.fillStyle = COLOURS[s.quadrant] || NEUTRAL;
        g.fillRect(p[0] - radius, p[1] - radius, 2 * radius, 2 * radius);
      });
      g.globalAlpha = 1;
      drawRegion(g, box);
      drawHighlight(g, box, radius);
      drawLine(g, box, state.path, "#222222", 2);
      drawLine(g, box, state.trajectory, "#7a3db8", 1.5);
      if (state.marker) {
        var m = toScreen(state.marker.valence, state.marker.arousal, box);
        g.fillStyle = "#7a3db8";
        g.beginPath();
        g.moveTo(m[0], m[1] - 8); g.lineTo(m[0] + 8, m[1]); g.lineTo(m[0], m[1] + 8); g.lineTo(m[0] - 8, m[1]);
        g.closePath();
        g.fill();
        g.font = "bold 12px sans-serif";
        g.textAlign = "left";
        g.fillText(state.marker.label || "", m[0] + 11, m[1] + 4);
      }
      [state.hover, state.selected].forEach(function (s, i) {
        if (!s) return;
        var p = toScreen(s.valence, s.arousal, box);
        g.strokeStyle = i ? "#000000" : "#444444";
        g.lineWidth = i ? 2.5 : 1.5;
        g.beginPath();
        g.arc(p[0], p[1], radius + 4, 0, 2 * Math.PI);
        g.stroke();
      });
      canvas.dataset.drawn = String(state.songs.length);
    }

    function drawRegion(g, box) {
      var r = state.region;
      if (!r) return;
      var lo = toScreen(r.valence[0], r.arousal[0], box), hi = toScreen(r.valence[1], r.arousal[1], box);
      g.fillStyle = "rgba(31, 95, 168, 0.10)";
      g.fillRect(lo[0], hi[1], hi[0] - lo[0], lo[1] - hi[1]);
      g.strokeStyle = "#1f5fa8";
      g.lineWidth = 1.5;
      g.setLineDash([5, 4]);
      g.strokeRect(lo[0], hi[1], hi[0] - lo[0], lo[1] - hi[1]);
      g.setLineDash([]);
    }

    /* The songs the editor lists: a dark ring around each. */
    function drawHighlight(g, box, radius) {
      g.strokeStyle = "#111111";
      g.lineWidth = 1.5;
      state.songs.forEach(function (s) {
        if (!state.highlight[s.id]) return;
        var p = toScreen(s.valence, s.arousal, box);
        g.beginPath();
        g.arc(p[0], p[1], radius + 2.5, 0, 2 * Math.PI);
        g.stroke();
      });
    }

    /* The rectangle between two screen points, on the plane and inside it (0–1 on both axes). */
    function regionOf(a, b) {
      var box = {width: canvas.clientWidth, height: canvas.clientHeight};
      var p = toPlane(a[0], a[1], box), q = toPlane(b[0], b[1], box);
      var clamp = function (x) { return Math.min(1, Math.max(0, x)); };
      return {valence: [clamp(Math.min(p[0], q[0])), clamp(Math.max(p[0], q[0]))],
              arousal: [clamp(Math.min(p[1], q[1])), clamp(Math.max(p[1], q[1]))]};
    }

    function nearest(x, y) {
      var box = {width: canvas.clientWidth, height: canvas.clientHeight}, best = null, bestD = 64;
      state.songs.forEach(function (s) {
        var p = toScreen(s.valence, s.arousal, box), d = (p[0] - x) * (p[0] - x) + (p[1] - y) * (p[1] - y);
        if (d < bestD) { bestD = d; best = s; }
      });
      return best;
    }

    function showTip(s, x, y) {
      if (!s) { tip.hidden = true; return; }
      tip.textContent = label(s) + "  ·  V " + s.valence.toFixed(2) + "  A " + s.arousal.toFixed(2) +
        "  ·  " + (s.emotion || "") + " " + (s.quadrant || "");
      tip.style.left = (x + 12) + "px";
      tip.style.top = (y + 12) + "px";
      tip.hidden = false;
    }

    function copy(text) {
      if (global.navigator && navigator.clipboard && global.isSecureContext) {
        return navigator.clipboard.writeText(text).then(function () { return true; }, function () { return false; });
      }
      var area = document.createElement("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(area);
      return Promise.resolve(ok);
    }

    /* A song chosen: clicked (its path copied, unless options.copyOnClick is false) or, ``quiet``, by the page. */
    function select(s, quiet) {
      state.selected = s;
      draw();
      if (!s) return;
      status.textContent = label(s) + " — " + s.path;
      if (options.copyOnClick !== false && s.path && !quiet) {
        copy(s.path).then(function (ok) { status.textContent = (ok ? "copied: " : "path: ") + s.path; });
      }
      container.dispatchEvent(new CustomEvent("moodmap:select", {detail: s}));
    }

    function position(event) {
      var r = canvas.getBoundingClientRect();
      return [event.clientX - r.left, event.clientY - r.top];
    }

    canvas.addEventListener("mousemove", function (event) {
      var xy = position(event);
      if (state.drawing) {
        state.drawing.to = xy;
        state.moved = state.moved || Math.abs(xy[0] - state.drawing.from[0]) + Math.abs(xy[1] - state.drawing.from[1]) > 4;
        if (state.moved) { state.region = regionOf(state.drawing.from, xy); draw(); }
        return;
      }
      if (state.drag) {
        var box = {width: canvas.clientWidth, height: canvas.clientHeight};
        var a = toPlane(state.drag[0], state.drag[1], box), b = toPlane(xy[0], xy[1], box);
        var view = state.view, dx = a[0] - b[0], dy = a[1] - b[1];
        state.view = {x0: view.x0 + dx, x1: view.x1 + dx, y0: view.y0 + dy, y1: view.y1 + dy};
        state.drag = xy;
        state.moved = true;
        draw();
        return;
      }
      var s = nearest(xy[0], xy[1]);
      if (s !== state.hover) { state.hover = s; draw(); }
      showTip(s, xy[0], xy[1]);
    });
    canvas.addEventListener("mouseleave", function () { state.hover = null; tip.hidden = true; draw(); });
    canvas.addEventListener("mousedown", function (event) {
      state.moved = false;
      if (options.regions && (state.tool === "region" || event.shiftKey)) {
        event.preventDefault();  /* no text selection while drawing */
        state.drawing = {from: position(event)};
        return;
      }
      state.drag = position(event);
    });
    global.addEventListener("mouseup", function () {
      var drew = state.drawing && state.moved;
      state.drag = null;
      state.drawing = null;
      if (drew) container.dispatchEvent(new CustomEvent("moodmap:region", {detail: state.region}));
    });
    canvas.addEventListener("click", function (event) {
      if (state.moved) return;
      var xy = position(event);
      select(nearest(xy[0], xy[1]));
    });
    canvas.addEventListener("dblclick", function () { state.view = {x0: 0, x1: 1, y0: 0, y1: 1}; draw(); });
    canvas.addEventListener("wheel", function (event) {
      event.preventDefault();
      var box = {width: canvas.clientWidth, height: canvas.clientHeight}, xy = position(event);
      var at = toPlane(xy[0], xy[1], box), f = event.deltaY > 0 ? 1.2 : 1 / 1.2, v = state.view;
      state.view = {x0: at[0] + (v.x0 - at[0]) * f, x1: at[0] + (v.x1 - at[0]) * f,
                    y0: at[1] + (v.y0 - at[1]) * f, y1: at[1] + (v.y1 - at[1]) * f};
      draw();
    }, {passive: false});
    global.addEventListener("resize", draw);

    var api = {
      setSongs: function (songs) { state.songs = songs || []; state.hover = null; draw(); },
      setPath: function (ids) {
        var byId = {};
        state.songs.forEach(function (s) { byId[s.id] = s; });
        state.path = (ids || []).map(function (id) { return byId[id]; }).filter(Boolean);
        draw();
      },
      setTrajectory: function (points) { state.trajectory = points; draw(); },
      setMarker: function (point) { state.marker = point; draw(); },
      select: function (id) {
        select(state.songs.filter(function (s) { return s.id === id; })[0] || null, true);
      },
      songs: function () { return state.songs; },
      setTool: function (name) {
        state.tool = name;
        canvas.style.cursor = name === "pan" ? "grab" : "crosshair";
        canvas.dataset.tool = name;
      },
      setRegion: function (region) { state.region = region; draw(); },
      setHighlight: function (ids) {
        state.highlight = {};
        (ids || []).forEach(function (id) { state.highlight[id] = true; });
        draw();
      },
      redraw: draw
    };
    api.setSongs(data.songs);
    if (data.path) api.setPath(data.path);
    return api;
  }

  global.MoodMap = {create: create, colours: COLOURS, label: label};
})(window);
