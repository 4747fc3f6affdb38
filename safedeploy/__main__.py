from safedeploy.cli.app import main

main()
