"""`python -m brushwork ...` and `torchrun -m brushwork train ...` enter here."""

import sys

from .cli import main

sys.exit(main())
