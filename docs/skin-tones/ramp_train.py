"""emoji_learning/train.py with StyleGAN2-ADA's EMA ramp-up on its main EMA (--ema is the target beta):
half-life = min(it * RAMP, ln 0.5 / ln ema) iterations, beta = 0.5 ** (1 / half-life), 0 at it 0 (same as stargan/config.ts emaBetaAt)."""
import importlib.util, math, os, sys
RAMP = float(os.environ['EMA_RAMPUP'])
spec = importlib.util.spec_from_file_location('train', '/work/shared/anchors/emoji_learning/train.py')
train = importlib.util.module_from_spec(spec); spec.loader.exec_module(train)
orig = train.iteration
count = [0]
def ramped(*args, ema_beta=0.999, **kw):
    h = count[0] * RAMP
    full = math.log(0.5) / math.log(ema_beta)
    beta = ema_beta if h >= full else (0.5 ** (1 / h) if h > 0 else 0.0)
    count[0] += 1
    return orig(*args, ema_beta=beta, **kw)
train.iteration = ramped
train.main()
