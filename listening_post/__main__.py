import sys

from listening_post.cli.main import main

sys.exit(main())
