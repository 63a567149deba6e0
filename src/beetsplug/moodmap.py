"""beets plugin: ``beet moodmap [QUERY]`` stores valence, arousal and mood as flexible attributes.

Enable it with ``plugins: moodmap`` in beets' config.yaml (install ``moodmap[beets]``).
Then ``beet ls mood:happy``, ``beet ls valence:0.6..`` and smart playlists work.
Config (``moodmap:`` section): ``model`` (a registered name or a .pt path, default
the CLI's default model), ``force`` (re-analyse items that already have values, default no).
"""
from __future__ import annotations

import os

from beets import dbcore
from beets.plugins import BeetsPlugin
from beets.ui import Subcommand


class MoodmapPlugin(BeetsPlugin):
    # Three decimals, as stored: beets' FLOAT shows one, so `beet ls -f '$valence'` printed 0.6 for 0.578.
    item_types = {"valence": dbcore.types.NullFloat(3), "arousal": dbcore.types.NullFloat(3)}

    def __init__(self, name: str = "moodmap") -> None:
        super().__init__(name)
        from moodmap.models.registry import DEFAULT_MODEL

        self.config.add({"model": DEFAULT_MODEL, "force": False})

    def commands(self) -> list[Subcommand]:
        command = Subcommand("moodmap", help="store valence, arousal and mood of items (moodmap)")
        command.parser.add_option("-f", "--force", action="store_true", default=None,
                                  help="re-analyse items that already have values")
        command.parser.add_option("-m", "--model", default=None, help="moodmap model name or .pt path")
        command.func = self.analyse
        return [command]

    def analyse(self, lib, opts, args) -> int:
        """Predict every matching item (skipping analysed ones unless forced); returns how many were stored."""
        from moodmap.errors import AudioError
        from moodmap.models.registry import resolve
        from moodmap.predict import predict_file

        model = opts.model or self.config["model"].as_str()
        force = opts.force if opts.force is not None else self.config["force"].get(bool)
        resolved = resolve(model)
        if resolved.note:
            self._log.warning("moodmap: note: model {!r} is {}", model, resolved.note)
        stored = 0
        for item in lib.items(args):
            if not force and item.get("valence") is not None:
                continue
            path = os.fsdecode(item.path)
            try:
                prediction = predict_file(path, resolved.predictor, model)
            except AudioError as exc:
                self._log.warning("moodmap: skipped {}: {}", path, exc.reason)
                continue
            item["valence"] = round(prediction.valence, 3)
            item["arousal"] = round(prediction.arousal, 3)
            item["mood"] = prediction.emotion
            item["mood_quadrant"] = prediction.quadrant or "neutral"
            item.store()
            stored += 1
        self._log.info("moodmap: stored mood of {} item(s)", stored)
        return stored
