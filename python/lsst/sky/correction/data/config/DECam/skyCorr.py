# DECam overrides for SkyCorrectionTask, with the values the stack uses
# (drp_pipe pipelines/_ingredients/DECam/DRP.yaml).  DECam pixels are 15 microns.
config.bgModel1.xSize = 8192 * 0.015  # 122.88 mm
config.bgModel1.ySize = 8192 * 0.015
config.bgModel1.pixelSize = 0.015
config.bgModel2.xSize = 256 * 0.015  # 3.84 mm
config.bgModel2.ySize = 256 * 0.015
config.bgModel2.pixelSize = 0.015
config.bgModel2.minFrac = 0.3
