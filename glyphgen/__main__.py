import sys

from glyphgen.cli import main

sys.exit(main())
