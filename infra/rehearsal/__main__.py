import sys

from infra.rehearsal.rehearse import main

sys.exit(main())
