import sys

from listener.cli.main import main

sys.exit(main())
