/** Where diffusers' ONNX layout keeps the safety checker's parts, relative to the model folder. */
export const SAFETY_CHECKER_MODEL = 'safety_checker/model.onnx';
export const FEATURE_EXTRACTOR_CONFIG = 'feature_extractor/preprocessor_config.json';
