/* moodmap's page: the library's mood map, song details with audio, mood paths and playlists,
 * and a drop zone that analyses a file. Talks only to moodmap's own HTTP API. */
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };
  var state = {from: null, to: null, playlist: null, query: null, map: null};

  function api(path, options) {
    return fetch(path, options).then(function (response) {
      var type = response.headers.get("content-type") || "";
      var body = type.indexOf("json") >= 0 ? response.json() : response.text();
      return body.then(function (data) {
        if (!response.ok) throw new Error((data && data.detail) || response.statusText);
        return data;
      });
    });
  }

  var label = MoodMap.label;

  function text(element, value, className) {
    element.textContent = value;
    element.className = className || "";
  }

  function loadMap() {
    return api("/api/map").then(function (data) {
      state.map = MoodMap.create($("map"), data);
      $("map").addEventListener("moodmap:select", function (event) { showSong(event.detail); });
      text($("library-status"), data.songs.length + " songs in the library");
    });
  }

  function loadModels() {
    return api("/api/health").then(function (health) {
      health.models.forEach(function (model) {
        var option = document.createElement("option");
        option.value = model.name;
        option.textContent = model.name + (model.description ? " — " + model.description : "");
        option.dataset.note = model.note || "";
        option.selected = model.name === health.default_model;
        $("model").appendChild(option);
      });
      showModelNote();
      health.moods.forEach(function (name) {
        var option = document.createElement("option");
        option.value = option.textContent = name;
        $("mood").appendChild(option);
      });
    });
  }

  function showModelNote() {
    var option = $("model").selectedOptions[0];
    text($("model-note"), option && option.dataset.note ? option.dataset.note : "", "note");
  }

  function showSong(song) {
    if (!song) return;
    $("details").hidden = false;
    text($("song-title"), label(song));
    text($("song-meta"), (song.album ? song.album + " · " : "") + "valence " + song.valence.toFixed(2) +
      ", arousal " + song.arousal.toFixed(2) + " · " + song.emotion + " (" + (song.quadrant || "neutral") + ")");
    $("player").src = "/api/songs/" + song.id + "/audio";
    $("details").dataset.song = song.id;
    state.current = song;
    api("/api/songs/" + song.id).then(function (full) {
      state.map.setTrajectory(full.timeline);
      drawTimeline(full.timeline);
    });
  }

  function drawTimeline(points) {
    var canvas = $("timeline");
    canvas.hidden = !points || points.length < 2;
    if (canvas.hidden) return;
    var g = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
    var end = points[points.length - 1].start || 1;
    g.clearRect(0, 0, w, h);
    [["valence", "#e8a33d"], ["arousal", "#4c78a8"]].forEach(function (pair) {
      g.strokeStyle = pair[1];
      g.beginPath();
      points.forEach(function (p, i) {
        var x = 4 + (w - 8) * p.start / end, y = h - 4 - (h - 8) * p[pair[0]];
        if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
      });
      g.stroke();
      g.fillStyle = pair[1];
      g.fillText(pair[0], pair[0] === "valence" ? 6 : 60, 12);
    });
  }

  function setEnd(which) {
    if (!state.current) return;
    state[which] = state.current;
    text($(which + "-label"), label(state.current));
    $("draw-path").disabled = !(state.from && state.to);
  }

  function makePlaylist(query) {
    state.query = query;
    return api("/api/playlists", {method: "POST", headers: {"content-type": "application/json"},
                                  body: JSON.stringify(query)})
      .then(function (playlist) {
        state.playlist = playlist;
        $("playlist").hidden = false;
        text($("playlist-title"), playlist.title + (playlist.note ? " (" + playlist.note + ")" : ""));
        var list = $("playlist-songs");
        list.innerHTML = "";
        playlist.songs.forEach(function (song) {
          var item = document.createElement("li");
          item.textContent = label(song);
          item.addEventListener("click", function () { state.map.select(song.id); });
          list.appendChild(item);
        });
        state.map.setPath(query.from ? playlist.songs.map(function (s) { return s.id; }) : []);
      })
      .catch(function (error) {
        $("playlist").hidden = false;
        text($("playlist-title"), error.message, "error");
      });
  }

  function saveM3U8() {
    var query = Object.assign({}, state.query, {format: "m3u8"});
    api("/api/playlists", {method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify(query)})
      .then(function (m3u8) {
        var link = document.createElement("a");
        link.href = URL.createObjectURL(new Blob([m3u8], {type: "audio/x-mpegurl"}));
        link.download = (state.playlist ? state.playlist.title : "playlist").replace(/[^\w\- ]+/g, "_") + ".m3u8";
        document.body.appendChild(link);
        link.click();
        link.remove();
      });
  }

  function analyse(file) {
    var out = $("prediction");
    text(out, "analysing " + file.name + " …");
    var form = new FormData();
    form.append("file", file);
    form.append("model", $("model").value || "paper");
    api("/api/predict", {method: "POST", body: form}).then(function (p) {
      text(out, file.name + ": valence " + p.valence.toFixed(3) + ", arousal " + p.arousal.toFixed(3) + " — " +
        p.emotion + " (" + (p.quadrant || "neutral") + ")" + (p.note ? " · " + p.note : ""), "result");
      out.dataset.valence = p.valence;
      out.dataset.arousal = p.arousal;
      state.map.setMarker({valence: p.valence, arousal: p.arousal, label: file.name});
    }).catch(function (error) { text(out, file.name + ": " + error.message, "error"); });
  }

  function wireDropZone() {
    var zone = $("drop");
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer.files.length) analyse(event.dataTransfer.files[0]);
    });
    $("file").addEventListener("change", function () { if (this.files.length) analyse(this.files[0]); });
  }

  function wireControls() {
    $("model").addEventListener("change", showModelNote);
    $("set-from").addEventListener("click", function () { setEnd("from"); });
    $("set-to").addEventListener("click", function () { setEnd("to"); });
    $("draw-path").addEventListener("click", function () {
      makePlaylist({from: String(state.from.id), to: String(state.to.id), steps: Number($("steps").value)});
    });
    $("mood-go").addEventListener("click", function () {
      makePlaylist({mood: $("mood").value, n: Number($("count").value)});
    });
    $("save-m3u8").addEventListener("click", saveM3U8);
  }

  wireDropZone();
  wireControls();
  Promise.all([loadMap(), loadModels()]).catch(function (error) {
    text($("library-status"), "could not load the library: " + error.message, "error");
  });
})();
