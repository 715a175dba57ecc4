"""`brushwork stylize`: an image, a folder, an animation or a video through a model, written atomically.

    config.py   StylizeConfig: every setting of one run, and so every flag
    command.py  the verb: which model, which kind of input, then media/ does the work
"""
