from homeplm.cli.main import main

raise SystemExit(main())
