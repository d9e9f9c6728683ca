# A package, so pytest names these modules `tests.test_loadgen_*`: without it (importlib
# mode) they would be `loadgen.tests.*`, and pytest would make `loadgen` a namespace package
# of this folder, hiding the real one in src/.
