# LSSTComCam overrides for SkyCorrectionTask: the LSSTCam values (same 10-micron
# pixels and sensors; ComCam is one 3x3 raft).
config.bgModel1.xSize = 8192 * 0.010  # 81.92 mm
config.bgModel1.ySize = 8192 * 0.010
config.bgModel1.pixelSize = 0.010
config.bgModel2.xSize = 4096 * 0.010  # 40.96 mm
config.bgModel2.ySize = 4096 * 0.010
config.bgModel2.pixelSize = 0.010
config.bgModel2.minFrac = 0.3
config.maskObjects.detection.isotropicGrow = False
config.maskObjects.detection.thresholdType = "stdev"
