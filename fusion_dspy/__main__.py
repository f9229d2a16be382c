from fusion_dspy.cli.main import main

main()
