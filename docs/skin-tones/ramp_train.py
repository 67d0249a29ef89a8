"""emoji_learning/train.py with StyleGAN2-ADA's EMA ramp-up on its main EMA (--ema is the target beta):
half-life = min(it * RAMP, ln 0.5 / ln ema) iterations, beta = 0.5 ** (1 / half-life), 0 at it 0
(as stargan/v2/config.ts emaBetaAt). Run from the folder holding e2.npz (from emoji_learning/data.py):
  EMA_RAMPUP=0.05 EMOJI_OUT=. python3 ramp_train.py NAME --data e2 --iters 600 --seed 1 --heinit --lr 5e-4 \
    --lcyc 10 --ema 0.999 --ema2 0.99 --evals 0,100,200,300,400,500,600 --grids 600 --threads 1
EMOJI_LEARNING: the anchor's emoji_learning folder (default: the shared checkout's)."""
import importlib.util, math, os
RAMP = float(os.environ['EMA_RAMPUP'])
ANCHOR = os.environ.get('EMOJI_LEARNING', '/work/shared/anchors/emoji_learning')
spec = importlib.util.spec_from_file_location('train', os.path.join(ANCHOR, 'train.py'))
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
