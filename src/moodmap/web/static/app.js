/* moodmap's page: the library's mood map, song details with audio, mood paths and playlists,
 * and a drop zone that analyses a file. The map is a playlist editor: a region drawn on it, a path
 * between two songs or a mood, narrowed by genre, artist or text, lists its songs; the playlist is
 * downloaded (M3U8, .nsp) or saved into the server's playlists folder (`serve --playlists`).
 * Talks only to moodmap's own HTTP API. */
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };
  var state = {from: null, to: null, playlist: null, query: null, map: null, folder: null, asked: 0};
  var MAX_SONGS = 200;  /* the server's most songs in one playlist */

  /* One call of moodmap's API; a refusal becomes an Error with the server's detail and its kind. */
  function api(path, options) {
    return fetch(path, options).then(function (response) {
      var type = response.headers.get("content-type") || "";
      var body = type.indexOf("json") >= 0 ? response.json() : response.text();
      return body.then(function (data) {
        if (!response.ok) {
          var error = new Error((data && data.detail) || response.statusText);
          error.kind = data && data.error;
          throw error;
        }
        return data;
      });
    });
  }

  function post(path, body) {
    return api(path, {method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify(body)});
  }

  var label = MoodMap.label;

  function text(element, value, className) {
    element.textContent = value;
    element.className = className || "";
  }

  function loadMap() {
    return api("/api/map").then(function (data) {
      state.map = MoodMap.create($("map"), data, {regions: true});
      state.map.setTool("pan");
      $("map").addEventListener("moodmap:select", function (event) { chosen(event.detail); });
      $("map").addEventListener("moodmap:region", function (event) { regionDrawn(event.detail); });
      text($("library-status"), data.songs.length + " songs in the library");
      fillArtists(data.songs);
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

  /* A song clicked on the map: its details; with the path tool, the path's start, then its end. */
  function chosen(song) {
    showSong(song);
    if (!song || state.tool !== "path") return;
    if (!state.from || state.to) {  /* a first click, or a new path after one was drawn */
      state.to = null;
      text($("to-label"), "–");
      setEnd("from");
    } else if (song.id !== state.from.id) {
      setEnd("to");
      drawPath();
    }
  }

  function drawPath() {
    if (!(state.from && state.to)) return;
    state.map.setRegion(null);
    makePlaylist({from: String(state.from.id), to: String(state.to.id), steps: Number($("steps").value)});
  }

  /* "0.412:0.688": a region's side as a range, widened to the three decimals the tags and ranges use;
   * an end at the plane's edge is left open ("0.412:"), a side spanning the plane is no range at all. */
  function range(ends) {
    var lo = Math.max(0, Math.floor(ends[0] * 1000) / 1000), hi = Math.min(1, Math.ceil(ends[1] * 1000) / 1000);
    if (lo <= 0 && hi >= 1) return null;
    return (lo > 0 ? lo.toFixed(3) : "") + ":" + (hi < 1 ? hi.toFixed(3) : "");
  }

  function regionDrawn(region) {
    var query = {}, valence = range(region.valence), arousal = range(region.arousal);
    if (valence) query.valence = valence;
    if (arousal) query.arousal = arousal;
    if (!valence && !arousal) query.sort = "valence";  /* the whole plane: every song */
    makePlaylist(query);
  }

  function setTool(name) {
    state.tool = name;
    state.map.setTool(name);
    document.querySelectorAll("#tools button").forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.dataset.tool === name));
    });
  }

  /* The playlist asked for (a region, a path, a mood) with the narrowing fields, as the API takes it. */
  function fullQuery() {
    var query = Object.assign({}, state.query, {n: Math.max(1, Math.min(MAX_SONGS, Number($("count").value) || 50))});
    [["genre", "f-genre"], ["artist", "f-artist"], ["text", "f-text"]].forEach(function (pair) {
      var value = $(pair[1]).value.trim();
      if (value) query[pair[0]] = value;
    });
    if ($("f-sort").value && !query.from) query.sort = $("f-sort").value;
    if (query.from) delete query.n;  /* a path has its steps */
    return query;
  }

  function makePlaylist(query) {
    state.query = query;
    return refresh();
  }

  /* Ask again for the current playlist (after a change of a narrowing field); only the newest answer shows. */
  function refresh() {
    if (!state.query) return Promise.resolve();
    var asked = ++state.asked, query = fullQuery();
    text($("playlist-count"), "looking…", "hint");
    return post("/api/playlist-preview", query).then(function (playlist) {
      if (asked === state.asked) showPlaylist(playlist, query);
    }).catch(function (error) {
      if (asked !== state.asked) return;
      state.playlist = null;
      text($("playlist-count"), error.message, "error");
      $("playlist-songs").innerHTML = "";
      $("keep").hidden = true;
      state.map.setHighlight([]);
    });
  }

  function showPlaylist(playlist, query) {
    state.playlist = playlist;
    state.listed = query;
    var known = playlist.matching !== null && playlist.matching !== undefined;  /* the count says what the note would */
    text($("playlist-title"), playlist.title + (playlist.note && !known ? " (" + playlist.note + ")" : ""));
    var count = playlist.songs.length, matching = playlist.matching;
    text($("playlist-count"), matching === null || matching === undefined ? count + (count === 1 ? " song" : " songs")
      : matching + (matching === 1 ? " song matches" : " songs match") +
        (matching > count ? "; the playlist takes " + count + " of them" : ""), "count");
    var list = $("playlist-songs");
    list.innerHTML = "";
    playlist.songs.forEach(function (song) {
      var item = document.createElement("li"), play = document.createElement("button"), name = document.createElement("span");
      item.dataset.id = song.id;
      item.title = "valence " + song.valence.toFixed(2) + ", arousal " + song.arousal.toFixed(2);
      play.className = "play";
      play.type = "button";
      play.setAttribute("aria-label", "play " + label(song));
      play.addEventListener("click", function (event) {
        event.stopPropagation();
        state.map.select(song.id);
        $("player").play().catch(function () { /* no audio device, or the file went away */ });
      });
      name.textContent = label(song);
      item.appendChild(play);
      item.appendChild(name);
      item.addEventListener("click", function () { state.map.select(song.id); });
      list.appendChild(item);
    });
    state.map.setPath(query.from ? playlist.songs.map(function (s) { return s.id; }) : []);
    state.map.setHighlight(playlist.songs.map(function (s) { return s.id; }));
    $("keep").hidden = !count;
    $("download-nsp").disabled = !!query.from || !!query.text;  /* rules cannot say a path, nor a text search */
    if (!state.named) $("save-name").value = suggestedName(playlist);  /* until the user names it */
    text($("save-status"), "");
    $("save-replace").hidden = true;
  }

  function suggestedName(playlist) {
    return playlist.title.split(" — ")[0].replace(/[\\/<>:"|?*\u0000-\u001f]+/g, " ").replace(/^[.\s]+/, "")
      .slice(0, 100).trim();
  }

  function download(format) {
    var query = Object.assign({}, state.listed, {format: format});  /* the playlist shown, as it was asked */
    post("/api/playlists", query).then(function (body) {
      var link = document.createElement("a"), kind = format === "nsp" ? "application/json" : "audio/x-mpegurl";
      link.href = URL.createObjectURL(new Blob([typeof body === "string" ? body : JSON.stringify(body, null, 2)],
                                               {type: kind}));
      link.download = (suggestedName({title: $("save-name").value || "playlist"}) || "playlist") + "." + format;
      document.body.appendChild(link);
      link.click();
      link.remove();
    }).catch(function (error) { text($("save-status"), error.message, "error"); });
  }

  /* Save into the server's playlists folder the playlist shown (asked as it was, even while a change of a
   * field waits to be listed), or nothing: the library changed since, and it is listed again. */
  function save(replace) {
    var format = $("save-format").value, query = Object.assign({}, state.listed, {name: $("save-name").value,
                                                                                format: format, replace: !!replace});
    if (format === "m3u8" && state.playlist) query.songs = state.playlist.songs.map(function (s) { return s.id; });
    $("save-replace").hidden = true;
    text($("save-status"), "saving…", "hint");
    post("/api/playlist-folder", query).then(function (saved) {
      var what = saved.songs === null ? "rules for Navidrome" : saved.songs + (saved.songs === 1 ? " song" : " songs");
      text($("save-status"), (saved.status === "unchanged" ? "Already saved: " : "Saved ") + saved.file + " in " +
        saved.folder + " (" + what + ")" + (saved.status === "replaced" ? ", replacing moodmap's earlier one" : ""),
        "saved");
    }).catch(function (error) {
      text($("save-status"), error.message, "error");
      if (error.kind === "PlaylistExists") $("save-replace").hidden = false;
      if (error.kind === "LibraryChanged") refresh();
    });
  }

  function loadFolder() {
    return api("/api/playlist-folder").then(function (folder) {
      state.folder = folder;
      $("save").disabled = !folder.enabled;
      $("save-form").hidden = !folder.enabled;
      $("save").textContent = folder.enabled ? "Save in " + folder.name : "Save";
      if (!folder.enabled) {
        var note = document.createElement("p");
        note.className = "hint";
        note.id = "save-off";
        note.textContent = "Saving is off: start the server with --playlists DIR to save into a player's folder.";
        $("save-form").after(note);
      }
    });
  }

  function fillArtists(songs) {
    var seen = {};
    songs.forEach(function (s) { if (s.artist) seen[s.artist] = true; });
    Object.keys(seen).sort().slice(0, 2000).forEach(function (name) {
      var option = document.createElement("option");
      option.value = name;
      $("artists").appendChild(option);
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
    $("draw-path").addEventListener("click", drawPath);
    $("mood-go").addEventListener("click", function () {
      state.map.setRegion(null);
      makePlaylist({mood: $("mood").value});
    });
    document.querySelectorAll("#tools button").forEach(function (button) {
      button.addEventListener("click", function () { setTool(button.dataset.tool); });
    });
    var waiting = null;
    ["f-genre", "f-artist", "f-text", "f-sort", "count"].forEach(function (id) {
      $(id).addEventListener(id === "f-sort" ? "change" : "input", function () {
        clearTimeout(waiting);
        waiting = setTimeout(refresh, 300);
      });
    });
    $("download-m3u8").addEventListener("click", function () { download("m3u8"); });
    $("download-nsp").addEventListener("click", function () { download("nsp"); });
    $("save-form").addEventListener("submit", function (event) { event.preventDefault(); save(false); });
    $("save-replace").addEventListener("click", function () { save(true); });
    $("save-name").addEventListener("input", function () { state.named = !!this.value.trim(); });
  }

  wireDropZone();
  wireControls();
  Promise.all([loadMap(), loadModels(), loadFolder()]).catch(function (error) {
    text($("library-status"), "could not load the library: " + error.message, "error");
  });
})();
