# LSSTCam overrides for SkyCorrectionTask, with the values the stack uses
# (drp_pipe pipelines/_ingredients/base-v2.yaml).  LSSTCam pixels are 10 microns:
# bgModel1 uses 8192-px superpixels (about 2x2 detectors), bgModel2 4096-px ones.
config.bgModel1.xSize = 8192 * 0.010  # 81.92 mm
config.bgModel1.ySize = 8192 * 0.010
config.bgModel1.pixelSize = 0.010
config.bgModel2.xSize = 4096 * 0.010  # 40.96 mm
config.bgModel2.ySize = 4096 * 0.010
config.bgModel2.pixelSize = 0.010
config.bgModel2.minFrac = 0.3
config.maskObjects.detection.isotropicGrow = False
config.maskObjects.detection.thresholdType = "stdev"
