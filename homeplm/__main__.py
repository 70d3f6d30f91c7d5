from homeplm.cli import main

raise SystemExit(main())
