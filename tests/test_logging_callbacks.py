"""CSVLogger and TensorBoard: the files they write, read back."""

import csv
from pathlib import Path

import numpy as np
import pytest

import minigd as mg
from minigd.callbacks.csv_logger import CSVLogger
from minigd.callbacks.tensorboard import TensorBoard


def data():
    x, y = mg.make_linear_data(n=120, seed=3)
    return x, y, (x[:40], y[:40])


def fit(callbacks, epochs=4, **options):
    x, y, validation = data()
    trainer = mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=callbacks)
    return trainer.fit(mg.Linear(), x, y, epochs=epochs, batch_size=40, seed=0,
                       validation_data=validation, **options)


def read_rows(path, separator=","):
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.reader(file, delimiter=separator))


# -- CSVLogger --------------------------------------------------------------------------

def test_the_csv_has_a_header_and_one_exact_row_per_epoch(tmp_path):
    path = tmp_path / "log.csv"
    history = fit([CSVLogger(path)])
    header, *rows = read_rows(path)
    assert header == ["epoch", "learning_rate", "loss", "val_loss"]
    assert [int(row[0]) for row in rows] == history.epoch == [0, 1, 2, 3]
    for column, key in enumerate(header[1:], start=1):
        assert [float(row[column]) for row in rows] == history.history[key]  # repr-exact


def test_another_separator(tmp_path):
    path = tmp_path / "log.tsv"
    fit([CSVLogger(path, separator="\t")], epochs=2)
    assert read_rows(path, "\t")[0] == ["epoch", "learning_rate", "loss", "val_loss"]


def test_each_row_is_on_disk_when_its_epoch_ends(tmp_path):
    path = tmp_path / "log.csv"
    seen = []
    reader = mg.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(len(read_rows(path))))
    fit([CSVLogger(path), reader], epochs=3)
    assert seen == [2, 3, 4]  # the header and every row so far


def test_a_run_that_fails_before_its_first_row_leaves_the_old_file_alone(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("yesterday's log\n")

    def fail(step, logs):
        raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        fit([CSVLogger(path), mg.LambdaCallback(on_step_end=fail)])
    assert path.read_text() == "yesterday's log\n"


def test_append_adds_rows_under_one_header(tmp_path):
    path = tmp_path / "log.csv"
    fit([CSVLogger(path)], epochs=2)
    fit([CSVLogger(path, append=True)], epochs=3)
    header, *rows = read_rows(path)
    assert header[0] == "epoch" and [row[0] for row in rows] == ["0", "1", "0", "1", "2"]


def test_without_append_a_new_run_replaces_the_file(tmp_path):
    path = tmp_path / "log.csv"
    fit([CSVLogger(path)], epochs=3)
    fit([CSVLogger(path)], epochs=2)
    assert len(read_rows(path)) == 3


def test_a_resumed_run_continues_the_csv_without_repeating_an_epoch(tmp_path):
    path, checkpoint = tmp_path / "log.csv", tmp_path / "run.ckpt"
    x, y, validation = data()

    def run(callbacks, **options):
        trainer = mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=callbacks)
        return trainer, trainer.fit(mg.Linear(), x, y, epochs=5, batch_size=40, seed=0,
                                    validation_data=validation, **options)

    def save_then_stop(trainer_box):
        def on_epoch_end(epoch, logs):
            if epoch == 1:
                trainer_box[0].save_checkpoint(checkpoint)
            if epoch == 3:  # two more epochs reach the file, then the "crash"
                raise KeyboardInterrupt
        return mg.LambdaCallback(on_epoch_end=on_epoch_end)

    box = [None]
    stopper = save_then_stop(box)
    trainer = mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[CSVLogger(path), stopper])
    box[0] = trainer
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(mg.Linear(), x, y, epochs=5, batch_size=40, seed=0, validation_data=validation)
    assert [row[0] for row in read_rows(path)[1:]] == ["0", "1", "2", "3"]

    run([CSVLogger(path), mg.LambdaCallback()], resume_from=checkpoint)
    run([CSVLogger(tmp_path / "straight.csv"), mg.LambdaCallback()])
    assert read_rows(path) == read_rows(tmp_path / "straight.csv")


def test_a_resume_never_cuts_a_file_this_run_did_not_write(tmp_path):
    x, y, validation = data()
    saver = mg.ModelCheckpoint(tmp_path / "ck{epoch}.npz")
    mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[CSVLogger(tmp_path / "a.csv"), saver]).fit(
        mg.Linear(), x, y, epochs=3, batch_size=40, seed=0, validation_data=validation)
    other = tmp_path / "b.csv"  # the user's own data, longer than a.csv
    other.write_text("".join(f"{i},{i * i}\n" for i in range(30)))
    before = other.read_bytes()
    trainer = mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[CSVLogger(other), mg.ModelCheckpoint(
        tmp_path / "again{epoch}.npz")])
    with pytest.raises(ValueError, match="CSVLogger will not cut .*b.csv: it does not begin with"):
        trainer.fit(mg.Linear(), x, y, epochs=5, batch_size=40, seed=0, validation_data=validation,
                    resume_from=tmp_path / "ck1.npz")
    assert other.read_bytes() == before


def test_append_refuses_a_file_with_another_header_and_leaves_it(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("epoch,acc,foo\n0,1,2\n")
    with pytest.raises(ValueError, match="its header is 'epoch,acc,foo', this run writes 'epoch,learning_rate,loss,val_loss'"):
        fit([CSVLogger(path, append=True)])
    assert path.read_text() == "epoch,acc,foo\n0,1,2\n"


def test_append_after_a_last_line_without_newline_starts_a_new_line(tmp_path):
    path = tmp_path / "log.csv"
    fit([CSVLogger(path)], epochs=2)
    path.write_text(path.read_text().rstrip("\n"))  # as an editor may save it
    fit([CSVLogger(path, append=True)], epochs=2)
    rows = read_rows(path)
    assert [row[0] for row in rows] == ["epoch", "0", "1", "0", "1"] and all(len(row) == 4 for row in rows)


@pytest.mark.parametrize("arguments, message", [
    ({"filename": 123}, "filename must be a file path"),
    ({"filename": "."}, "CSVLogger filename . is a folder"),
    ({"filename": "no/such/folder/log.csv"}, "the folder no/such/folder does not exist"),
    ({"filename": "log.csv", "append": "no"}, "append must be True or False, got 'no'"),
])
def test_csv_logger_arguments_are_checked_in_the_constructor(arguments, message):
    with pytest.raises(ValueError, match=message):
        CSVLogger(**arguments)


def test_a_bad_separator_is_named():
    with pytest.raises(ValueError, match="separator"):
        CSVLogger("log.csv", separator=", ")


# -- TensorBoard ------------------------------------------------------------------------

def read_scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """tag -> [(step, value)], from every event file in ``folder``."""
    tf = pytest.importorskip("tensorflow")
    scalars: dict[str, list[tuple[int, float]]] = {}
    for path in sorted(folder.glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                number = float(tf.make_ndarray(value.tensor))
                scalars.setdefault(value.tag, []).append((event.step, number))
    return scalars


def test_tensorboard_writes_step_and_epoch_scalars_that_read_back(tmp_path):
    pytest.importorskip("tensorboard")
    history = fit([TensorBoard(tmp_path)], epochs=3)
    train, validation = read_scalars(tmp_path / "train"), read_scalars(tmp_path / "validation")
    assert set(train) == {"batch_loss", "batch_learning_rate", "epoch_loss", "epoch_learning_rate"}
    assert set(validation) == {"epoch_loss"}  # val_loss, beside the training loss, as Keras does
    steps, losses = zip(*train["batch_loss"])
    assert list(steps) == history.steps
    np.testing.assert_allclose(losses, history.step_history["loss"], rtol=1e-6)  # stored as float32
    assert [step for step, _ in train["epoch_loss"]] == history.epoch
    np.testing.assert_allclose([v for _, v in train["epoch_loss"]], history.history["loss"], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in validation["epoch_loss"]], history.history["val_loss"],
                               rtol=1e-6)
    np.testing.assert_allclose([v for _, v in train["batch_learning_rate"]], 0.01, rtol=1e-6)


def test_tensorboard_can_write_every_nth_step(tmp_path):
    pytest.importorskip("tensorboard")
    fit([TensorBoard(tmp_path, update_freq=4)], epochs=3)
    assert [step for step, _ in read_scalars(tmp_path / "train")["batch_loss"]] == [0, 4, 8]


def test_tensorboard_without_validation_makes_no_validation_folder(tmp_path):
    pytest.importorskip("tensorboard")
    x, y, _ = data()
    mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[TensorBoard(tmp_path)]).fit(mg.Linear(), x, y, steps=3)
    assert [p.name for p in tmp_path.iterdir()] == ["train"]


def test_tensorboard_without_tensorflow_says_what_to_install(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "tensorflow" else real(name, *a))
    with pytest.raises(ImportError, match=r"pip install 'minigd\[tensorboard\]'"):
        TensorBoard("logs")


def test_tensorboard_update_freq_is_checked():
    pytest.importorskip("tensorboard")
    with pytest.raises(ValueError, match="update_freq"):
        TensorBoard("logs", update_freq=0)
