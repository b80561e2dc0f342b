// Every panel of the page, in display order; ?panels= names them by their id.
import { AccuracyPanel, EvalModePanel, LossPanel } from './metrics.js';
import { BnStatsPanel, GammaBetaPanel, PercentilePanel } from './normalizer.js';
import { HistogramPanel } from './histogram.js';
import { GradNormPanel, IcsPanel, LandscapePanel } from './gradients.js';
import { FeatureMapsPanel, MisclassifiedPanel } from './images.js';
import { InspectorPanel } from './inspector.js';
import { BatchMatesPanel } from './batchmates.js';

export const PANELS = [
  LossPanel, AccuracyPanel, EvalModePanel, BnStatsPanel, HistogramPanel, GammaBetaPanel,
  PercentilePanel, GradNormPanel, IcsPanel, LandscapePanel, FeatureMapsPanel, MisclassifiedPanel,
  InspectorPanel, BatchMatesPanel,
];
