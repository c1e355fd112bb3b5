from osteosim.cli.run import main

main()
