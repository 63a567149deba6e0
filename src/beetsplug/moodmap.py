"""beets plugin: ``beet moodmap [QUERY]`` stores valence, arousal and mood as flexible attributes.

Enable it with ``plugins: moodmap`` in beets' config.yaml (install ``moodmap[beets]``).
Then ``beet ls mood:happy``, ``beet ls valence:0.6..`` and smart playlists work.
Config (``moodmap:`` section): ``model`` (a registered name or a .pt path, default
the CLI's default model), ``force`` (re-analyse items that already have values, default no).

The values are flexible attributes only, never media fields, so ``beet update`` (which re-reads
media fields from the files) and ``beet write`` (which writes media fields) leave them as they are.
"""
from __future__ import annotations

import os

from beets import dbcore
from beets.plugins import BeetsPlugin
from beets.ui import Subcommand, UserError


class MoodmapPlugin(BeetsPlugin):
    # Three decimals, as stored: beets' FLOAT shows one, so `beet ls -f '$valence'` printed 0.6 for 0.578.
    item_types = {"valence": dbcore.types.NullFloat(3), "arousal": dbcore.types.NullFloat(3)}

    def __init__(self, name: str = "moodmap") -> None:
        super().__init__(name)
        from moodmap.inference.registry import DEFAULT_MODEL

        self.config.add({"model": DEFAULT_MODEL, "force": False})

    def commands(self) -> list[Subcommand]:
        command = Subcommand("moodmap", help="store valence, arousal and mood of items (moodmap)")
        command.parser.add_option("-f", "--force", action="store_true", default=None,
                                  help="re-analyse items that already have values")
        command.parser.add_option("-m", "--model", default=None, help="moodmap model name or .pt path")
        command.func = self.analyse
        return [command]

    def analyse(self, lib, opts, args) -> int:
        """Predict every matching item (skipping analysed ones unless forced); returns how many were stored.

        An unusable model is beets' one-line ``error:`` (exit 1); a file that cannot be analysed is
        one line naming it. beets' logger already starts each line with ``moodmap:``."""
        from moodmap.core.engines import default_jobs, run_tasks
        from moodmap.core.errors import ModelError, MoodmapError
        from moodmap.inference.registry import resolve

        model = opts.model or self.config["model"].as_str()
        force = opts.force if opts.force is not None else self.config["force"].get(bool)
        try:
            resolved = resolve(model)  # before any work: an unknown name, a missing or damaged file
        except ModelError as exc:
            raise UserError(f"moodmap: {exc}") from None
        if resolved.note:
            self._log.warning("note: model {!r} is {}", model, resolved.note)
        items = {item.id: item for item in lib.items(args) if force or item.get("valence") is None}
        tasks = [(item_id, os.fsdecode(item.path), model) for item_id, item in items.items()]
        # Always in worker processes (run_tasks runs jobs=1 here): workers silence the decoders'
        # C-level notes on fd 2 (libmpg123, FFmpeg; MOODMAP_DEBUG=1 keeps them) and a decoder crash
        # costs its file, not the command. A single item starts a single worker.
        jobs = max(2, min(default_jobs(), len(tasks)))
        stored = failed = 0
        try:
            for (item_id, path, _), result in run_tasks(_predict_item, tasks, jobs, on_crash=_crashed):
                if isinstance(result, str):
                    self._log.warning("could not analyse {}: {}", path, result)
                    failed += 1
                    continue
                item = items[item_id]
                item["valence"], item["arousal"], item["mood"], item["mood_quadrant"] = result
                item.store()
                stored += 1
        except MoodmapError as exc:  # the model failed in a worker, or workers could not start
            raise UserError(f"moodmap: {exc}") from None
        self._log.info("stored mood of {} item(s){}", stored, f"; {failed} could not be analysed" if failed else "")
        return stored


def _predict_item(task: tuple[int, str, str]) -> tuple[float, float, str, str] | str:
    """Worker: the values stored for one item, or why there are none (one line)."""
    from moodmap.core.errors import Failure, ModelError, MoodmapError, debugging
    from moodmap.inference.predict import predict_file
    from moodmap.inference.registry import resolve

    _, path, model = task
    try:
        prediction = predict_file(path, resolve(model).predictor, model)
    except ModelError:
        raise  # not the file's fault: the command stops with it
    except Exception as exc:  # noqa: BLE001 — one odd file must not stop a library of thousands
        if debugging() and not isinstance(exc, MoodmapError):
            raise  # a bug: its traceback, not one line
        failure = Failure.of(path, exc)
        return f"{failure.error}: {failure.reason}"
    return (round(prediction.valence, 3), round(prediction.arousal, 3), prediction.emotion,
            prediction.quadrant or "neutral")


def _crashed(task: tuple[int, str, str], reason: str) -> str:
    return f"WorkerCrashed: {reason}"
